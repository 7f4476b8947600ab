from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app import confirm
from app.auth.models import Role, User
from app.extensions import db, limiter, login_manager
from app.mail import send_template
from app.moderation import bp, operations
from app.moderation.forms import DecisionForm, PublicCopyForm, ReportForm, SanctionForm, WordForm
from app.moderation.models import (
    BlockedWord,
    IllegalTransition,
    ItemStatus,
    ModerationItem,
    Sanction,
    SanctionKind,
)
from app.security import safe_next
from app.timeutil import as_utc, utcnow

PER_PAGE = 50


PUBLIC = {"moderation.statistics"}
SIGNED_IN = {"moderation.report"}
STAFF_TOO = {"moderation.words", "moderation.remove_word"}


@bp.before_request
def require_role():
    """Moderators here (admins pass every check); staff edit words; anyone reads statistics."""
    if request.endpoint in PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if request.endpoint in SIGNED_IN:
        return None
    allowed = (Role.MODERATOR, Role.STAFF) if request.endpoint in STAFF_TOO else (Role.MODERATOR,)
    if not current_user.has_role(*allowed):
        abort(403)
    return None


@bp.get("/")
def queue():
    """List the items waiting for a decision, oldest first; or the published ones, newest
    first, to take one down."""
    source = request.args.get("source", "")
    published = request.args.get("status") == "published"
    query = select(ModerationItem)
    if published:
        query = query.where(ModerationItem.status == ItemStatus.PUBLISHED).order_by(
            ModerationItem.created_at.desc(), ModerationItem.id.desc()
        )
    else:
        query = query.where(ModerationItem.status == ItemStatus.HELD).order_by(
            ModerationItem.created_at, ModerationItem.id
        )
    if source in operations.SOURCE_LABELS:
        query = query.where(ModerationItem.source == source)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "moderation/queue.html",
        page=page,
        places=operations.places(list(page.items)),
        form=DecisionForm(),
        highlight=operations.highlight,
        source=source,
        published=published,
        labels=operations,
    )


@bp.post("/decide")
def decide():
    """Approve or reject the ticked items."""
    form = DecisionForm()
    action = request.form.get("action")
    ids = [int(i) for i in request.form.getlist("item_id") if i.isascii() and i.isdigit()]
    if action not in {"approve", "reject"} or not form.validate_on_submit():
        flash(_("Choose an action and a reason."), "error")
        return redirect(url_for("moderation.queue"))
    if not ids:
        flash(_("Tick at least one item."), "error")
        return redirect(url_for("moderation.queue"))
    items = db.session.scalars(select(ModerationItem).where(ModerationItem.id.in_(ids))).all()
    done, skipped = operations.decide_many(
        list(items), current_user._get_current_object(), action, form.code.data
    )
    db.session.commit()
    flash(_("%(done)d item(s) decided.", done=done), "success")
    if skipped:
        flash(_("%(n)d item(s) were already decided and were left as they are.", n=skipped), "info")
    return redirect(url_for("moderation.queue"))


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
def item(item_id: int):
    """Show one item with its findings; approve, reject or edit its public copy."""
    entry = db.get_or_404(ModerationItem, item_id)
    decision = DecisionForm(prefix="d")
    copy = PublicCopyForm(prefix="c", public_text=entry.public_text)
    moderator = current_user._get_current_object()
    if request.method == "POST":
        action = request.form.get("action")
        if action == "edit" and copy.validate_on_submit():
            operations.edit_public(entry, moderator, copy.public_text.data)
            db.session.commit()
            flash(_("The public copy is saved."), "success")
            return redirect(url_for("moderation.item", item_id=entry.id))
        if action in {"approve", "reject"} and decision.validate_on_submit():
            try:
                if action == "approve":
                    operations.approve(entry, moderator)
                else:
                    operations.reject(entry, moderator, decision.code.data)
            except IllegalTransition:
                flash(_("This item was already decided."), "info")
            else:
                db.session.commit()
                flash(_("The decision is saved."), "success")
            return redirect(url_for("moderation.queue"))
    return render_template(
        "moderation/item.html",
        item=entry,
        place=operations.places([entry]).get(entry.id),
        segments=operations.highlight(entry),
        decision=decision,
        copy=copy,
        labels=operations,
    )


@bp.route("/items/<int:item_id>/take-down", methods=["GET", "POST"])
def take_down(item_id: int):
    """Confirm, then take a published item down with a reason (GET asks, POST does it)."""
    entry = db.get_or_404(ModerationItem, item_id)
    form = DecisionForm()
    if entry.status != ItemStatus.PUBLISHED:
        flash(_("Only a published item can be taken down."), "info")
        return redirect(url_for("moderation.item", item_id=entry.id))
    if form.validate_on_submit():
        try:
            operations.take_down(entry, current_user._get_current_object(), form.code.data)
        except IllegalTransition:
            flash(_("Only a published item can be taken down."), "info")
        else:
            db.session.commit()
            flash(_("The item is taken down and its author is told."), "success")
        return redirect(url_for("moderation.item", item_id=entry.id))
    return render_template(
        "moderation/take_down.html",
        item=entry,
        segments=operations.highlight(entry),
        form=form,
        labels=operations,
    )


@bp.route("/words", methods=["GET", "POST"])
def words():
    """List and add blocked words and exceptions."""
    form = WordForm()
    editor = current_user._get_current_object()
    if form.validate_on_submit():
        added = operations.add_word(
            form.word.data.strip(), form.severity.data, form.exception.data, editor
        )
        if added is None:
            form.word.errors.append(_("This word is already on the list."))
        else:
            db.session.commit()
            flash(_("The word is added."), "success")
            return redirect(url_for("moderation.words"))
    entries = db.session.scalars(
        select(BlockedWord).order_by(BlockedWord.exception, BlockedWord.word)
    ).all()
    return render_template("moderation/words.html", form=form, entries=entries)


@bp.post("/words/<int:word_id>/delete")
def remove_word(word_id: int):
    """Remove an entry from the blocked-word list."""
    entry = db.get_or_404(BlockedWord, word_id)
    page = confirm.ask(
        title=_("Remove this entry from the list?"),
        consequence=(
            _(
                "“%(word)s” no longer protects texts that contain it; new texts are checked "
                "without it at once.",
                word=entry.word,
            )
            if entry.exception
            else _(
                "“%(word)s” is no longer blocked or held; new texts are checked without it "
                "at once.",
                word=entry.word,
            )
        ),
        button=_("Remove the entry"),
        cancel_url=url_for("moderation.words"),
    )
    if page is not None:
        return page
    operations.remove_word(entry, current_user._get_current_object())
    db.session.commit()
    flash(_("The word is removed."), "success")
    return redirect(url_for("moderation.words"))


@bp.post("/items/<int:item_id>/report")
@limiter.limit("20 per hour", key_func=lambda: f"user:{current_user.id}")
def report(item_id: int):
    """Report a published item; enough reports hide it until a moderator decides."""
    entry = db.get_or_404(ModerationItem, item_id)
    form = ReportForm()
    back = safe_next(request.form.get("next"))
    if entry.status != ItemStatus.PUBLISHED or entry.author_id == current_user.id:
        abort(403)
    if not form.validate_on_submit():
        flash(_("Choose why you report it."), "error")
        return redirect(back)
    counted = operations.report(
        entry,
        current_user._get_current_object(),
        form.reason.data,
        current_app.config["REPORT_HIDE_THRESHOLD"],
    )
    db.session.commit()
    if counted:
        flash(_("Thank you. A moderator will look at it."), "success")
    else:
        flash(_("You have already reported this."), "info")
    return redirect(back)


@bp.route("/users/<int:user_id>/sanctions", methods=["GET", "POST"])
def sanctions(user_id: int):
    """Show a user's sanctions and mute or ban them for a time, telling them why."""
    target = db.get_or_404(User, user_id)
    form = SanctionForm()
    moderator = current_user._get_current_object()
    if target.id == moderator.id or target.has_role(Role.MODERATOR, Role.STAFF):
        abort(403)  # sanctions are for residents; staff accounts are an admin's job
    if form.validate_on_submit():
        entry = operations.sanction(
            target, moderator, SanctionKind(form.kind.data), int(form.days.data), form.reason.data
        )
        db.session.commit()
        send_template(
            target.email,
            _("Your Koe account is restricted"),
            "sanction",
            user=target,
            sanction=entry,
        )
        flash(_("The sanction is recorded and the user is told."), "success")
        return redirect(url_for("moderation.sanctions", user_id=target.id))
    history = db.session.scalars(
        select(Sanction).where(Sanction.user_id == target.id).order_by(Sanction.starts_at.desc())
    ).all()
    return render_template(
        "moderation/sanctions.html",
        target=target,
        form=form,
        history=history,
        active=operations.active_sanction(target),
        now=utcnow(),
        as_utc=as_utc,
    )


@bp.post("/sanctions/<int:sanction_id>/lift")
def lift(sanction_id: int):
    """End a sanction early."""
    entry = db.get_or_404(Sanction, sanction_id)
    if entry.lifted_at is None:
        operations.lift(entry, current_user._get_current_object())
        db.session.commit()
        flash(_("The sanction is lifted."), "success")
    return redirect(url_for("moderation.sanctions", user_id=entry.user_id))


@bp.get("/statistics")
def statistics():
    """Show the public moderation statistics."""
    return render_template(
        "moderation/statistics.html", stats=operations.statistics(), labels=operations
    )


@bp.app_template_global()
def posting_block():
    """What stops the signed-in person from posting now (for the notice above a form)."""
    if not current_user.is_authenticated:
        return None
    return operations.posting_block(current_user._get_current_object())
