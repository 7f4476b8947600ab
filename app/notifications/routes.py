from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.action_form import ActionForm
from app.extensions import db
from app.notifications import bp, operations


@bp.app_template_global()
def unread_notifications() -> int:
    """How many unread notifications the signed-in person has (0 when signed out)."""
    if not current_user.is_authenticated:
        return 0
    return operations.unread_count(current_user.id)


@bp.app_template_global()
def notification_text(notification) -> str:
    return operations.text(notification)


@bp.get("/")
@login_required
def index():
    page = db.paginate(
        operations.for_user(current_user.id), per_page=operations.PER_PAGE, error_out=False
    )
    return render_template("notifications/index.html", page=page, form=ActionForm())


@bp.post("/read")
@login_required
def mark_read():
    operations.mark_all_read(current_user.id)
    db.session.commit()
    flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"))
