from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_, select

from app import audit, jobs
from app.admin import bp
from app.admin.forms import ROLE_LABELS, DepartmentForm, RoleForm
from app.audit import AuditEntry
from app.auth import operations as auth_ops
from app.auth.forms import ActionForm
from app.auth.models import Role, User
from app.auth.permissions import authorize, role_required
from app.extensions import db
from app.mail import OutboxMessage

PER_PAGE = 50


@bp.before_request
@role_required(Role.ADMIN)
def require_admin():
    """Every page here is for administrators."""


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@bp.get("/")
def index():
    """List accounts, searchable by name or address."""
    q = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    query = select(User).order_by(User.created_at.desc(), User.id.desc())
    if q:
        pattern = _like(q)
        query = query.where(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/users.html", page=page, q=q, role=role, role_labels=ROLE_LABELS, Role=Role
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """Show an account and change its role."""
    target = db.get_or_404(User, user_id)
    authorize("view", target)
    form = RoleForm(role=target.role.value)
    if form.validate_on_submit():
        authorize("set_role", target)
        new_role = Role(form.role.data)
        if new_role != target.role:
            auth_ops.set_role(target, new_role)
            db.session.commit()
            flash(_("The role is changed."), "success")
        return redirect(url_for("admin.user", user_id=target.id))
    entries = db.session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.actor_id == target.id,
                (AuditEntry.target_type == "User") & (AuditEntry.target_id == str(target.id)),
            )
        )
        .order_by(AuditEntry.created_at.desc())
        .limit(20)
    )
    return render_template(
        "admin/user.html",
        target=target,
        form=form,
        department=DepartmentForm(department=target.department),
        entries=entries,
        role_labels=ROLE_LABELS,
    )


@bp.post("/users/<int:user_id>/department")
def set_department(user_id: int):
    """Set the department of a staff member (whose forms' answers they may read)."""
    target = db.get_or_404(User, user_id)
    authorize("set_role", target)
    form = DepartmentForm()
    if form.validate_on_submit():
        before = target.department
        target.department = " ".join((form.department.data or "").split()) or None
        audit.record(
            "user.set_department",
            target,
            details={"from": before, "to": target.department},
        )
        db.session.commit()
        flash(_("The department is saved."), "success")
    else:
        flash(_("Use at most 100 characters, without control characters."), "error")
    return redirect(url_for("admin.user", user_id=target.id))


@bp.get("/audit")
def audit_log():
    """List audit entries, newest first, filterable by action."""
    action = request.args.get("action", "").strip()[:64]
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    if action:
        query = query.where(AuditEntry.action == action)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    return render_template("admin/audit.html", page=page, action=action, actions=list(actions))


def _require_outbox() -> None:
    if current_app.config["MAIL_BACKEND"] != "outbox":
        abort(404)


@bp.get("/outbox")
def outbox():
    """List mail kept locally because no SMTP server is configured."""
    _require_outbox()
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template("admin/outbox.html", page=page)


@bp.get("/outbox/<int:message_id>")
def outbox_message(message_id: int):
    """Show one locally kept mail."""
    _require_outbox()
    message = db.get_or_404(OutboxMessage, message_id)
    return render_template("admin/outbox_message.html", message=message)


@bp.get("/jobs")
def jobs_page():
    """Show the background jobs waiting and failed (with the error's type), to retry."""
    return render_template(
        "admin/jobs.html",
        counts=jobs.counts(),
        waiting=jobs.waiting_jobs(),
        failed=jobs.failed_jobs(),
        labels=jobs.KIND_LABELS,
        form=ActionForm(),
        retention=current_app.config["JOBS_RETENTION_DAYS"],
        failed_retention=current_app.config["JOBS_FAILED_RETENTION_DAYS"],
    )


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    """Put a failed job back in the queue."""
    job = db.get_or_404(jobs.Job, job_id)
    if ActionForm().validate_on_submit() and jobs.retry(job):
        db.session.commit()
        flash(_("The job is queued again."), "success")
    else:
        flash(_("This job has not failed: there is nothing to retry."), "info")
    return redirect(url_for("admin.jobs_page"))


@bp.post("/jobs/retry-failed")
def retry_failed_jobs():
    """Put every failed job back in the queue."""
    if ActionForm().validate_on_submit():
        retried = sum(jobs.retry(job) for job in jobs.failed_jobs(limit=10_000))
        db.session.commit()
        flash(
            ngettext(
                "%(num)d failed job is queued again.",
                "%(num)d failed jobs are queued again.",
                retried,
            ),
            "success",
        )
    return redirect(url_for("admin.jobs_page"))
