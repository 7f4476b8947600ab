"""Pages of events: the list, the month calendar and an event's page with its registration
for residents; creating, publishing and cancelling, and the registrations, for staff."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app import audit, confirm
from app.api import csvfile
from app.auth.models import Role
from app.auth.permissions import can, policy, role_required
from app.events import bp, ics, operations
from app.events.forms import EventForm
from app.events.models import (
    Attendance,
    Audience,
    Engine,
    Event,
    EventState,
    Mode,
    RegistrationStatus,
)
from app.extensions import db
from app.search import matches
from app.timeutil import TOKYO, to_tokyo, utcnow

ATTENDANCES = {Attendance.VENUE: _l("At the venue"), Attendance.ONLINE: _l("Online")}
MOVED = {
    Attendance.VENUE: _l("Done: you now take part at the venue."),
    Attendance.ONLINE: _l("Done: you now take part online."),
}
REFUSALS = {
    "closed": _l("This event does not take registrations now."),
    "unverified": _l("Confirm your e-mail address first: the confirmation is sent there."),
    "not_registered": _l("You are not registered for this event."),
    "over": _l("This event is over."),
    "not_draft": _l("This event is already published."),
    "not_cancellable": _l("Only a published event that has not ended can be cancelled."),
    "attendance": _l("Choose how you take part: at the venue or online."),
    "other_full": _l("There is no free place that way now; you keep the place you have."),
}


@policy(Event)
def event_policy(user, action: str, event: Event) -> bool:
    """Anyone reads a published or cancelled event; staff manage events."""
    staff = user is not None and user.has_role(Role.STAFF)
    if action == "view":
        return event.state != EventState.DRAFT or staff
    return staff


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _staff() -> bool:
    return current_user.is_authenticated and current_user.has_role(Role.STAFF)


def _load(event_id: int, action: str = "view") -> Event:
    event = db.get_or_404(Event, event_id)
    if not can(_user(), action, event):
        abort(404 if action == "view" else 403)
    return event


@bp.get("/")
def index():
    """Upcoming events (soonest first) and, on their own pages, past ones."""
    past = request.args.get("when") == "past"
    q = request.args.get("q", "").strip()[:100]
    query = (operations.past if past else operations.upcoming)(include_drafts=_staff())
    condition = matches(Event.search_key, q)
    if condition is not None:
        query = query.where(condition)
    page = db.paginate(query, per_page=20, error_out=False)
    return render_template("events/index.html", page=page, past=past, staff=_staff(), q=q)


@bp.get("/calendar")
def calendar_now():
    today = utcnow().astimezone(TOKYO)
    return redirect(url_for("events.calendar", year=today.year, month=today.month))


@bp.get("/calendar/<int:year>/<int:month>")
def calendar(year: int, month: int):
    """A month of events as a table (Monday first), with links to the months around it."""
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        abort(404)
    weeks = operations.month_grid(year, month, include_drafts=_staff())
    before = (year, month - 1) if month > 1 else (year - 1, 12)
    after = (year, month + 1) if month < 12 else (year + 1, 1)
    return render_template(
        "events/calendar.html",
        weeks=weeks,
        has_events=any(events for week in weeks for _day, events in week),
        year=year,
        month=month,
        first=datetime(year, month, 1, tzinfo=TOKYO),
        before=before if before[0] >= 2000 else None,
        after=after if after[0] <= 2100 else None,
    )


@bp.get("/<int:event_id>")
def show(event_id: int):
    event = _load(event_id)
    user = _user()
    registration = operations.active_registration(event, user)
    position = None
    if registration is not None and registration.status == RegistrationStatus.WAITING:
        position = operations.waiting_position(registration)
    counts = operations.place_counts(event) if event.registration_required else []
    return render_template(
        "events/show.html",
        event=event,
        registration=registration,
        position=position,
        counts=counts,
        full=bool(counts) and all(c.left == 0 for c in counts),
        attendances=ATTENDANCES,
        may_watch=operations.may_watch(event, user),
        staff=_staff(),
        now=utcnow(),
    )


@bp.get("/<int:event_id>/event.ics")
def calendar_file(event_id: int):
    """The event for one's calendar (the same file the confirmation mail carries)."""
    event = _load(event_id)
    return Response(
        ics.calendar_file(event),
        mimetype=ics.MIME,
        headers={"Content-Disposition": f'attachment; filename="event-{event.id}.ics"'},
    )


def _refuse(event: Event, exc: operations.NotAllowed):
    db.session.rollback()
    flash(str(REFUSALS[exc.reason]), "error")
    return redirect(url_for("events.show", event_id=event.id))


@bp.post("/<int:event_id>/register")
@login_required
def register(event_id: int):
    event = _load(event_id)
    try:
        attendance = operations.choose_attendance(event, request.form.get("attendance"))
        registration = operations.register(
            event, _user(), locale=str(get_locale()), attendance=attendance
        )
    except operations.NotAllowed as exc:
        return _refuse(event, exc)
    db.session.commit()
    if registration.status == RegistrationStatus.CONFIRMED:
        flash(
            _("You are registered. A confirmation with a calendar file is on its way."), "success"
        )
    else:
        flash(
            _(
                "The event is full: you are on the waiting list. We will e-mail you if a place becomes free."  # noqa: E501
            ),
            "success",
        )
    return redirect(url_for("events.show", event_id=event.id))


@bp.post("/<int:event_id>/attendance")
@login_required
def change_attendance(event_id: int):
    """Take part the other way: at the venue instead of online, or back."""
    event = _load(event_id)
    try:
        attendance = operations.choose_attendance(event, request.form.get("attendance"))
        registration = operations.change_attendance(
            event, _user(), attendance, locale=str(get_locale())
        )
    except operations.NotAllowed as exc:
        return _refuse(event, exc)
    db.session.commit()
    if registration.status == RegistrationStatus.CONFIRMED:
        flash(str(MOVED[attendance]), "success")
    else:
        flash(
            _(
                "Those places are taken: you are on their waiting list. We will e-mail you if one becomes free."  # noqa: E501
            ),
            "success",
        )
    return redirect(url_for("events.show", event_id=event.id))


@bp.post("/<int:event_id>/unregister")
@login_required
def unregister(event_id: int):
    """Cancel one's place (or leave the waiting list) after a confirmation."""
    event = _load(event_id)
    registration = operations.active_registration(event, _user())
    if registration is not None and not event.is_over():
        waiting = registration.status == RegistrationStatus.WAITING
        page = confirm.ask(
            title=_("Leave the waiting list?") if waiting else _("Cancel your registration?"),
            consequence=(
                _(
                    "You lose your turn on the waiting list for “%(title)s”. If you register "
                    "again, you join the end of the list.",
                    title=event.title,
                )
                if waiting
                else _(
                    "Your place at “%(title)s” goes to the next person waiting. If you register "
                    "again later, the event may be full.",
                    title=event.title,
                )
            ),
            button=_("Leave the waiting list") if waiting else _("Cancel my registration"),
            cancel_url=url_for("events.show", event_id=event.id),
        )
        if page is not None:
            return page
    try:
        operations.unregister(event, _user())
    except operations.NotAllowed as exc:
        return _refuse(event, exc)
    db.session.commit()
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("events.show", event_id=event.id))


# --- staff ----------------------------------------------------------------------------------


def _data(form: EventForm) -> operations.EventData:
    required = bool(form.registration_required.data)
    return operations.EventData(
        title=form.title.data,
        description=form.description.data or "",
        speakers=form.speakers.data or "",
        department=form.department.data or "",
        starts_at=form.starts_at.data,
        ends_at=form.ends_at.data,
        mode=Mode(form.mode.data),
        venue=form.venue.data or "",
        capacity=form.capacity.data if required else None,
        venue_capacity=(
            form.venue_capacity.data if required and form.mode.data == Mode.HYBRID.value else None
        ),
        registration_required=required,
        audience=Audience(form.audience.data),
        chat_enabled=bool(form.chat_enabled.data),
        slow_mode_seconds=form.slow_mode_seconds.data or 0,
        questions_enabled=bool(form.questions_enabled.data),
        questions_moderated=bool(form.questions_moderated.data),
        questions_anonymous=bool(form.questions_anonymous.data),
        engine=Engine(form.engine.data),
        external_ingest_url=form.external_ingest_url.data or "",
        external_playback_url=form.external_playback_url.data or "",
        external_embed_url=form.external_embed_url.data or "",
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.STAFF)
def new():
    form = EventForm()
    if form.validate_on_submit():
        event = operations.save_event(None, _data(form), _user())
        db.session.commit()
        flash(_("The event is saved as a draft. Publish it when it is ready."), "success")
        return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/edit.html", form=form, event=None), 400 if form.errors else 200


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit(event_id: int):
    event = _load(event_id, "edit")
    form = EventForm(obj=event)
    if request.method == "GET":
        form.mode.data, form.audience.data = event.mode.value, event.audience.value
        form.engine.data = event.engine.value
    if form.validate_on_submit():
        if form.mode.data != Mode.HYBRID.value and operations.has_venue_registrations(event):
            form.mode.errors = [
                _("People have places at the venue: an event with them stays hybrid.")
            ]
        else:
            operations.save_event(event, _data(form), _user())
            db.session.commit()
            flash(_("The event is saved."), "success")
            return redirect(url_for("events.show", event_id=event.id))
    status = 400 if form.errors else 200
    return render_template("events/edit.html", form=form, event=event), status


@bp.post("/<int:event_id>/publish")
@role_required(Role.STAFF)
def publish(event_id: int):
    event = _load(event_id, "edit")
    try:
        operations.publish(event, _user())
    except operations.NotAllowed as exc:
        return _refuse(event, exc)
    db.session.commit()
    flash(_("The event is published."), "success")
    return redirect(url_for("events.show", event_id=event.id))


@bp.post("/<int:event_id>/cancel")
@role_required(Role.STAFF)
def cancel(event_id: int):
    event = _load(event_id, "edit")
    page = confirm.ask(
        title=_("Cancel this event?"),
        consequence=_(
            "“%(title)s” is cancelled for everyone: each person registered or waiting is told "
            "by e-mail, and registration closes. A cancelled event cannot be published again.",
            title=event.title,
        ),
        button=_("Yes, cancel this event and tell everyone registered"),
        cancel_url=url_for("events.show", event_id=event.id),
    )
    if page is not None:
        return page
    try:
        operations.cancel(event, _user())
    except operations.NotAllowed as exc:
        return _refuse(event, exc)
    db.session.commit()
    flash(_("The event is cancelled; everyone registered is told by e-mail."), "success")
    return redirect(url_for("events.show", event_id=event.id))


@bp.get("/<int:event_id>/registrations")
@role_required(Role.STAFF)
def registrations(event_id: int):
    """Who registered and who waits, by display name (their e-mail stays in their account)."""
    event = _load(event_id, "edit")
    return render_template(
        "events/registrations.html",
        event=event,
        rows=operations.registrations(event),
        counts=operations.place_counts(event),
        attendances=ATTENDANCES,
    )


@bp.get("/<int:event_id>/registrations.csv")
@role_required(Role.STAFF)
def registrations_csv(event_id: int):
    """The same list for a spreadsheet (a reception desk's list): audited, never cached."""
    event = _load(event_id, "edit")
    rows = operations.registrations(event)
    audit.record("event.registrations_export", event, actor=_user(), details={"rows": len(rows)})
    db.session.commit()
    body = csvfile.render(
        [_("Name"), _("Takes part"), _("Status"), _("Waiting no."), _("Since")],
        (
            [
                row.registration.user.display_name,
                str(ATTENDANCES[row.registration.attendance]),
                _("Has a place") if row.position is None else _("Waiting"),
                row.position,
                to_tokyo(row.registration.queued_at).isoformat(timespec="seconds"),
            ]
            for row in rows
        ),
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="koe-event-{event.id}-registrations.csv"',
            "Cache-Control": "no-store",
        },
    )
