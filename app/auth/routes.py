from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import jobs
from app.auth import bp, operations, sessions, tokens
from app.auth.forms import ActionForm, LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm
from app.auth.models import User
from app.extensions import db, limiter
from app.i18n import tokyo_datetime
from app.mail import send_template
from app.moderation import operations as moderation_ops
from app.moderation.models import SanctionKind
from app.security import count_attempt, counted, safe_next


def _config_limit(name: str):
    return lambda: current_app.config[name]


def _account_key() -> str:
    """Rate-limit key for the account a form names, so one address cannot be hammered: the
    address as the form reads it (NFKC, so ｒｅｓｂ@… is resb@…) and case-folded."""
    return f"account:{tokens.fingerprint(operations.email_key(request.form.get('email') or ''))}"


def send_verification(user: User) -> None:
    token = tokens.make("verify", {"uid": user.id, "email": user.email})
    send_template(
        user.email,
        _("Confirm your e-mail address for Koe"),
        "verify",
        user=user,
        url=url_for("auth.verify", token=token, _external=True),
        hours=current_app.config["VERIFY_TOKEN_HOURS"],
    )


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_config_limit("REGISTER_LIMIT_IP"), methods=["POST"], deduct_when=counted)
@limiter.limit(
    _config_limit("REGISTER_LIMIT_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=counted,
)
def register():
    """Create a resident account and send the verification mail."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        count_attempt()
        user = operations.register(
            form.display_name.data,
            form.email.data,
            form.password.data,
            str(get_locale()),
            name_scan=form.display_name.scan_result,
        )
        if user is None:
            # The same answer as a new registration, so the form does not reveal who has
            # an account; the owner of the address is told instead.
            existing = operations.find_by_email(form.email.data)
            db.session.rollback()
            send_template(
                existing.email,
                _("Someone tried to register with your e-mail address"),
                "already_registered",
                user=existing,
                login_url=url_for("auth.login", _external=True),
                reset_url=url_for("auth.reset_request", _external=True),
            )
            return render_template("auth/check_mail.html", email=form.email.data)
        db.session.commit()
        send_verification(user)
        return render_template("auth/check_mail.html", email=form.email.data)
    return render_template("auth/register.html", form=form)


@bp.get("/verify/<token>")
def verify(token: str):
    """Show the button that confirms an e-mail address (a GET never changes anything)."""
    payload = tokens.load("verify", token, current_app.config["VERIFY_TOKEN_HOURS"] * 3600)
    return render_template("auth/verify.html", form=ActionForm(), valid=payload is not None)


@bp.post("/verify/<token>")
def verify_confirm(token: str):
    """Mark the address in the link verified."""
    payload = tokens.load("verify", token, current_app.config["VERIFY_TOKEN_HOURS"] * 3600)
    user = db.session.get(User, payload["uid"]) if payload else None
    if user is None or not operations.verify_email(user, payload["email"]):
        flash(_("This confirmation link is invalid or has expired."), "error")
        return redirect(url_for("main.index"))
    db.session.commit()
    flash(_("Your e-mail address is confirmed."), "success")
    return redirect(url_for("account.index" if current_user.is_authenticated else "auth.login"))


@bp.post("/verify/resend")
@login_required
@limiter.limit(_config_limit("RESEND_LIMIT_ACCOUNT"), key_func=lambda: f"user:{current_user.id}")
def resend_verification():
    """Send the verification mail again."""
    if not current_user.is_verified:
        send_verification(current_user)
        flash(_("We sent the confirmation link again."), "info")
    return redirect(url_for("account.index"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_config_limit("LOGIN_LIMIT_IP"), methods=["POST"], deduct_when=counted)
@limiter.limit(
    _config_limit("LOGIN_LIMIT_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=counted,
)
def login():
    """Log in with e-mail address and password."""
    next_url = safe_next(request.args.get("next") or request.form.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data, form.password.data)
        ban = moderation_ops.active_sanction(user, SanctionKind.BAN) if user else None
        if ban is not None:
            db.session.rollback()
            form.email.errors.append(
                _(
                    "This account is suspended until %(until)s: %(reason)s",
                    until=tokyo_datetime(ban.ends_at),
                    reason=ban.reason,
                )
            )
        elif user is not None:
            operations.log_in(user)
            db.session.commit()
            flash(_("You are logged in."), "success")
            return redirect(next_url)
        else:
            count_attempt()
            form.password.errors.append(_("The e-mail address or password is not correct."))
    return render_template("auth/login.html", form=form, next=request.args.get("next", ""))


@bp.post("/logout")
def logout():
    """End this session on the server and in the browser."""
    if current_user.is_authenticated:
        sessions.end_session()
        db.session.commit()
        flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(_config_limit("RESET_LIMIT_IP"), methods=["POST"], deduct_when=counted)
@limiter.limit(
    _config_limit("RESET_LIMIT_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=counted,
)
def reset_request():
    """Send a password-reset link if the address has an account (the answer is the same)."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        count_attempt()
        user = operations.find_by_email(form.email.data)
        # One job on both paths, the mail sent by the worker: the answer takes the same time
        # whether or not the address has an account (app.auth.mails).
        jobs.enqueue("reset_mail", user_id=user.id if user else None, locale=str(get_locale()))
        db.session.commit()
        return render_template("auth/check_mail.html", email=form.email.data, reset=True)
    return render_template("auth/reset_request.html", form=form)


def _reset_user(token: str) -> User | None:
    payload = tokens.load("reset", token, current_app.config["RESET_TOKEN_MINUTES"] * 60)
    user = db.session.get(User, payload["uid"]) if payload else None
    # The token carries a digest of the old hash, so it stops working once used.
    if user is None or tokens.fingerprint(user.password_hash) != payload["pw"]:
        return None
    return user


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    """Choose a new password from a reset link; every session of the account ends."""
    user = _reset_user(token)
    if user is None:
        flash(_("This reset link is invalid, expired or already used."), "error")
        return redirect(url_for("auth.reset_request"))
    form = ResetPasswordForm(user=user)
    if form.validate_on_submit():
        if current_user.is_authenticated:
            sessions.end_session()
        operations.set_password(user, form.password.data, reason="reset")
        if user.email_verified_at is None:
            operations.verify_email(user, user.email)  # the link proved the address
        db.session.commit()
        flash(_("Your password is changed. Please log in."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)
