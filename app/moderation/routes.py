from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role
from app.auth.permissions import role_required
from app.extensions import db
from app.moderation import bp, operations
from app.moderation.forms import DecisionForm, PublicCopyForm, WordForm
from app.moderation.models import BlockedWord, IllegalTransition, ItemStatus, ModerationItem

PER_PAGE = 50


@bp.before_request
@role_required(Role.MODERATOR, Role.STAFF)
def require_moderator():
    """Moderators (and staff for the word lists) only; admins pass every role check."""
    if request.endpoint not in {"moderation.words", "moderation.remove_word"} and not (
        current_user.has_role(Role.MODERATOR)
    ):
        abort(403)


@bp.get("/")
def queue():
    """List the items waiting for a decision, oldest first."""
    source = request.args.get("source", "")
    query = (
        select(ModerationItem)
        .where(ModerationItem.status == ItemStatus.HELD)
        .order_by(ModerationItem.created_at, ModerationItem.id)
    )
    if source in operations.SOURCE_LABELS:
        query = query.where(ModerationItem.source == source)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "moderation/queue.html",
        page=page,
        form=DecisionForm(),
        highlight=operations.highlight,
        source=source,
        labels=operations,
    )


@bp.post("/decide")
def decide():
    """Approve or reject the ticked items."""
    form = DecisionForm()
    action = request.form.get("action")
    ids = [int(i) for i in request.form.getlist("item_id") if i.isdigit()]
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
        segments=operations.highlight(entry),
        decision=decision,
        copy=copy,
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
    operations.remove_word(entry, current_user._get_current_object())
    db.session.commit()
    flash(_("The word is removed."), "success")
    return redirect(url_for("moderation.words"))
