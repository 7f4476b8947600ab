from __future__ import annotations

import json

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.account import bp, operations
from app.account.forms import ProfileForm
from app.auth import operations as auth_ops
from app.auth import sessions, tokens
from app.auth.forms import ActionForm, ChangeEmailForm, ChangePasswordForm, DeleteAccountForm
from app.auth.models import User
from app.auth.passwords import verify_password
from app.auth.permissions import authorize
from app.extensions import db, limiter
from app.mail import send_template
from app.moderation import operations as moderation_ops
from app.security import count_attempt, counted


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a signed-in person."""


@bp.get("/")
def index():
    """Show the account overview, with any sanction in force."""
    user = current_user._get_current_object()
    return render_template(
        "account/index.html",
        form=ActionForm(),
        sanction=moderation_ops.active_sanction(user),
        name_item=moderation_ops.display_name_item(user),
        public_name=moderation_ops.public_name(user),
        reject_codes=moderation_ops.REJECT_CODES,
    )


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    """Edit the display name and optional personal details."""
    user = current_user._get_current_object()
    authorize("edit", user)
    form = ProfileForm(obj=user.profile, display_name=user.display_name)
    if form.validate_on_submit():
        operations.update_profile(user, form.data, name_scan=form.display_name.scan_result)
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("account.index"))
    return render_template("account/profile.html", form=form)


def _wrong_password(field) -> bool:
    if verify_password(current_user.password_hash, field.data):
        return False
    count_attempt()
    field.errors.append(_("The password is not correct."))
    return True


# Wrong current passwords, counted together on every page that asks for it: a session left
# open on a shared computer does not let anyone guess the password behind it.
_password_limit = limiter.shared_limit(
    lambda: current_app.config["PASSWORD_CHECK_LIMIT"],
    scope="current-password",
    key_func=lambda: f"user:{current_user.get_id()}",
    methods=["POST"],
    deduct_when=counted,
)


@bp.route("/email", methods=["GET", "POST"])
@_password_limit
def change_email():
    """Ask for a new address after the current password; the new one confirms by mail."""
    form = ChangeEmailForm()
    if form.validate_on_submit() and not _wrong_password(form.current_password):
        new_email = auth_ops.normalise_email(form.email.data)
        if new_email == current_user.email:
            form.email.errors.append(_("This is already your e-mail address."))
        else:
            token = tokens.make("email", {"uid": current_user.id, "new": new_email})
            send_template(
                new_email,
                _("Confirm your new e-mail address for Koe"),
                "change_email",
                user=current_user,
                url=url_for("account.confirm_email", token=token, _external=True),
                hours=current_app.config["VERIFY_TOKEN_HOURS"],
            )
            return render_template("auth/check_mail.html", email=new_email)
    return render_template("account/email.html", form=form)


def _email_payload(token: str) -> dict | None:
    payload = tokens.load("email", token, current_app.config["VERIFY_TOKEN_HOURS"] * 3600)
    if payload is None or payload.get("uid") != current_user.id:
        return None
    return payload


@bp.get("/email/confirm/<token>")
def confirm_email_page(token: str):
    """Show the button that switches to the new address."""
    payload = _email_payload(token)
    return render_template(
        "account/email_confirm.html",
        form=ActionForm(),
        new_email=payload["new"] if payload else None,
    )


@bp.post("/email/confirm/<token>")
def confirm_email(token: str):
    """Switch to the new address from the confirmation link; the old address is told."""
    payload = _email_payload(token)
    if payload is None:
        flash(_("This confirmation link is invalid or has expired."), "error")
        return redirect(url_for("account.index"))
    user = current_user._get_current_object()
    old_email = user.email
    if not auth_ops.change_email(user, payload["new"]):
        db.session.rollback()
        flash(_("Another account uses that e-mail address now."), "error")
        return redirect(url_for("account.change_email"))
    db.session.commit()
    send_template(old_email, _("Your Koe e-mail address was changed"), "email_changed", user=user)
    flash(_("Your e-mail address is changed."), "success")
    return redirect(url_for("account.index"))


@bp.route("/password", methods=["GET", "POST"])
@_password_limit
def change_password():
    """Change the password; every other session of the account ends."""
    user = current_user._get_current_object()
    form = ChangePasswordForm(user=user)
    if form.validate_on_submit() and not _wrong_password(form.current_password):
        auth_ops.set_password(user, form.password.data, reason="change")
        db.session.commit()
        send_template(user.email, _("Your Koe password was changed"), "password_changed", user=user)
        flash(_("Your password is changed. Other devices have been logged out."), "success")
        return redirect(url_for("account.index"))
    return render_template("account/password.html", form=form)


@bp.post("/sessions/end-others")
def end_other_sessions():
    """Log out of every other device; this browser stays signed in."""
    ended = auth_ops.log_out_elsewhere(current_user._get_current_object())
    db.session.commit()
    flash(
        ngettext(
            "You are logged out of %(num)d other device.",
            "You are logged out of %(num)d other devices.",
            ended,
        ),
        "success",
    )
    return redirect(url_for("account.index"))


@bp.get("/data")
def data():
    """Show everything Koe holds about the signed-in person."""
    authorize("export", current_user._get_current_object())
    return render_template(
        "account/data.html", form=ActionForm(), data=operations.export_data(current_user)
    )


@bp.get("/data.json")
def data_json():
    """Download everything Koe holds about the signed-in person as JSON."""
    authorize("export", current_user._get_current_object())
    body = json.dumps(operations.export_data(current_user), ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="koe-my-data.json"'},
    )


@bp.route("/delete", methods=["GET", "POST"])
@_password_limit
def delete():
    """Delete the account and its personal data after the password."""
    user: User = current_user._get_current_object()
    authorize("delete", user)
    form = DeleteAccountForm()
    if form.validate_on_submit() and not _wrong_password(form.current_password):
        email = user.email
        sessions.end_session()
        auth_ops.delete_account(user)
        db.session.commit()
        send_template(email, _("Your Koe account was deleted"), "account_deleted")
        flash(_("Your account and personal data are deleted."), "success")
        return redirect(url_for("main.index"))
    return render_template("account/delete.html", form=form)
