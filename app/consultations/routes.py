from __future__ import annotations

import base64
import functools
import secrets

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import confirm, jobs
from app.auth.forms import ActionForm
from app.auth.models import Role
from app.auth.permissions import can, policy, role_required
from app.consultations import attachments, bp, importing, listing, operations
from app.consultations.forms import (
    ENTRY_CHANNELS,
    AttachmentForm,
    ConsultationForm,
    EditOpinionForm,
    EnteredOpinionForm,
    ImportConfirmForm,
    ImportUploadForm,
    OpinionForm,
    ReceiptForm,
)
from app.consultations.models import (
    Attachment,
    Channel,
    Consultation,
    IllegalMove,
    Opinion,
    ReactionKind,
    Section,
    State,
)
from app.extensions import db
from app.i18n import tokyo_datetime
from app.moderation.forms import ReportForm
from app.moderation.models import ItemStatus
from app.timeutil import utcnow


@bp.app_template_global()
def is_staff() -> bool:
    return current_user.is_authenticated and current_user.has_role(Role.STAFF)


@policy(Consultation)
def consultation_policy(user, action: str, consultation: Consultation) -> bool:
    """Anyone reads a consultation once it has left the draft; staff manage them."""
    if action == "view":
        return consultation.state != State.DRAFT or (user is not None and user.has_role(Role.STAFF))
    return user is not None and user.has_role(Role.STAFF)


@functools.cache
def _whole() -> tuple:
    """Load the consultation with its sections and documents in one query (the page shows
    them all); built on first use, once the mappers are complete."""
    return (joinedload(Consultation.sections), joinedload(Consultation.attachments))


def _load(consultation_id: int, action: str = "view", options=()) -> Consultation:
    consultation = db.get_or_404(Consultation, consultation_id, options=options)
    user = current_user._get_current_object() if current_user.is_authenticated else None
    if not can(user, action, consultation):
        abort(404 if action == "view" else 403)
    return consultation


@bp.get("/")
def index():
    """List consultations, searchable in Japanese and English."""
    q = request.args.get("q", "").strip()[:100]
    query = operations.visible_consultations(q, include_drafts=is_staff())
    page = db.paginate(query, per_page=20, error_out=False)
    return render_template("consultations/index.html", page=page, q=q)


@bp.get("/<int:consultation_id>")
def show(consultation_id: int):
    """Show a consultation: the draft by section, published opinions and the opinion form."""
    consultation = _load(consultation_id, options=_whole())
    form = None
    if current_user.is_authenticated and consultation.accepts_opinions():
        form = OpinionForm(sections=consultation.sections, key=secrets.token_urlsafe(16))
    return _render_show(consultation, form)


OPINIONS_PER_PAGE = 20  # light enough for a phone on a slow line


def _section_filter(consultation: Consultation) -> int | str | None:
    """The section the public list is filtered by (``?section=<id>`` or ``whole``), or None;
    anything else (another consultation's section, words) shows the whole list."""
    asked = request.args.get("section", "")
    if asked == listing.WHOLE:
        return listing.WHOLE
    if asked.isascii() and asked.isdigit():
        ids = {s.id for s in consultation.sections}
        return int(asked) if int(asked) in ids else None
    return None


def _render_show(consultation: Consultation, form: OpinionForm | None, status: int = 200):
    user = current_user._get_current_object() if current_user.is_authenticated else None
    section = _section_filter(consultation)
    q = request.args.get("q", "").strip()[:100]
    page = listing.PublicPage(
        consultation.id,
        user.id if user else None,
        section=section,
        query_text=q,
        per_page=OPINIONS_PER_PAGE,
        error_out=False,
    )
    return (
        render_template(
            "consultations/show.html",
            consultation=consultation,
            page=page,
            q=q,
            headings={s.id: s.heading for s in consultation.sections},
            # what the opinion form's fields show besides their fixed labels and choices
            form_sections=tuple((s.id, s.position, s.heading) for s in consultation.sections),
            form=form,
            action_form=ActionForm(),
            report_form=ReportForm() if user else None,
            section_filter=section,
            whole=listing.WHOLE,
        ),
        status,
    )


@bp.post("/<int:consultation_id>/opinions")
def post_opinion(consultation_id: int):
    """Receive an opinion: moderate it, store it with a receipt code and its receipt mail."""
    consultation = _load(consultation_id, options=_whole())
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    form = OpinionForm(sections=consultation.sections)
    received_at = utcnow()  # one moment for the check and the record: never stored after closing
    verified = current_user.is_verified
    if verified and (sent := operations.find_by_key(current_user, form.key.data)):
        # the same form sent twice (a double click, a retry after a timeout, even after
        # closing): one opinion, the same receipt
        return redirect(url_for("consultations.receipt", code=sent.receipt_code, new=1))
    open_now = consultation.accepts_opinions(received_at)
    # moderation (the costly part) runs before the key is held: on SQLite holding it makes
    # this request the one writer, and other posts wait only for the short store below
    valid = verified and open_now and form.validate_on_submit()
    if verified:
        if valid or not open_now:  # a retry after closing waits for a first try being stored
            operations.hold_key(current_user, form.key.data)
        if sent := operations.find_by_key(current_user, form.key.data):
            # the first try committed meanwhile (it held the key while this one was checked)
            return redirect(url_for("consultations.receipt", code=sent.receipt_code, new=1))
        if not valid:
            db.session.rollback()  # nothing to store: let the other writers go on at once
    if not open_now:
        form.body.errors = [
            _(
                "This consultation is not accepting opinions now; it closed or has not opened "
                "yet. Your text is kept below so that you can copy it."
            )
        ]
    elif not verified:
        form.body.errors = [_("Please confirm your e-mail address first; we sent you a link.")]
    elif valid:
        section = db.session.get(Section, int(form.section.data)) if form.section.data else None
        try:
            opinion, created = operations.submit_opinion(
                consultation,
                current_user._get_current_object(),
                form.body.scan_result,
                section=section,
                show_name=form.show_name.data,
                age_band=form.age_band.data or None,
                area=form.area.data or None,
                idempotency_key=form.key.data or None,
                received_at=received_at,
            )
            if created:  # the receipt by e-mail: a job committed with the opinion
                jobs.enqueue("receipt_mail", opinion_id=opinion.id, locale=str(get_locale()))
            db.session.commit()
        except IntegrityError:
            # the same form twice at the same moment: the other request stored it first
            db.session.rollback()
            sent = operations.find_by_key(current_user, form.key.data)
            if sent is None:
                raise
            return redirect(url_for("consultations.receipt", code=sent.receipt_code, new=1))
        return redirect(url_for("consultations.receipt", code=opinion.receipt_code, new=1))
    return _render_show(consultation, form, 422 if form.errors or form.body.errors else 200)


@bp.route("/<int:consultation_id>/opinions/enter", methods=["GET", "POST"])
@role_required(Role.STAFF)
def enter_opinion(consultation_id: int):
    """Staff enter an opinion received on paper, by fax, at the counter or by e-mail."""
    consultation = _load(consultation_id, "edit")
    if consultation.current_state() not in operations.ENTRY_STATES:
        flash(_("Opinions can be entered while the consultation is open or closed."), "error")
        return redirect(url_for("consultations.show", consultation_id=consultation.id))
    form = EnteredOpinionForm(sections=consultation.sections)
    if form.validate_on_submit():
        section = db.session.get(Section, int(form.section.data)) if form.section.data else None
        opinion = operations.enter_opinion(
            consultation,
            current_user._get_current_object(),
            form.body.scan_result,
            channel=Channel(form.channel.data),
            section=section,
            received_at=form.received_at.data,
            age_band=form.age_band.data or None,
            area=form.area.data or None,
        )
        db.session.commit()
        flash(
            _("The opinion is entered. Its receipt code is %(code)s.", code=opinion.receipt_code),
            "success",
        )
        return redirect(url_for("consultations.enter_opinion", consultation_id=consultation.id))
    return render_template("consultations/enter_opinion.html", form=form, consultation=consultation)


@bp.route("/<int:consultation_id>/opinions/import", methods=["GET", "POST"])
@role_required(Role.STAFF)
def import_opinions(consultation_id: int):
    """Staff import opinions received outside Koe from CSV: upload and check the whole file
    (every problem by line), see a preview, then confirm; nothing is saved before."""
    consultation = _load(consultation_id, "edit")
    if consultation.current_state() not in operations.ENTRY_STATES:
        flash(_("Opinions can be entered while the consultation is open or closed."), "error")
        return redirect(url_for("consultations.show", consultation_id=consultation.id))
    upload = ImportUploadForm(prefix="u")
    confirm = ImportConfirmForm(prefix="c")
    areas = {code for code, _ja, _en in current_app.config["WARD_AREAS"]}
    checked = None
    if request.method == "POST" and request.form.get("action") == "import":
        text = confirm.text() if confirm.validate_on_submit() else None
        if text is None:
            flash(_("Upload the file again: what came back is not the checked file."), "error")
            return redirect(
                url_for("consultations.import_opinions", consultation_id=consultation.id)
            )
        checked = importing.check(consultation, text, areas)
        if not checked.problems:
            if importing.already_imported(consultation, checked.digest):
                flash(_("This file was already imported; nothing was imported again."), "info")
                return redirect(url_for("consultations.show", consultation_id=consultation.id))
            staff = current_user._get_current_object()
            opinions = importing.enter(consultation, staff, checked)
            importing.record(consultation, staff, checked, len(opinions))
            db.session.commit()
            held = sum(1 for o in opinions if operations.item_of(o).status == ItemStatus.HELD)
            flash(
                ngettext(
                    "%(num)d opinion imported: %(published)d published, %(held)d waiting for "
                    "a moderator.",
                    "%(num)d opinions imported: %(published)d published, %(held)d waiting "
                    "for a moderator.",
                    len(opinions),
                    published=len(opinions) - held,
                    held=held,
                ),
                "success",
            )
            return redirect(url_for("consultations.show", consultation_id=consultation.id))
    elif upload.validate_on_submit():
        checked = importing.check(consultation, upload.file.data.read(), areas)
        if not checked.problems:
            confirm.content.data = base64.b64encode(checked.text.encode("utf-8")).decode("ascii")
    return render_template(
        "consultations/import_opinions.html",
        consultation=consultation,
        upload=upload,
        confirm=confirm,
        checked=checked,
        channels=ENTRY_CHANNELS,
        held_count=sum(1 for row in checked.rows if row.scan.verdict == "hold") if checked else 0,
    )


@bp.get("/receipts")
def receipt_lookup():
    """Find an opinion by its receipt code."""
    form = ReceiptForm(request.args)
    if request.args and form.validate():
        opinion = operations.find_by_receipt(form.code.data)
        if opinion is not None:
            return redirect(url_for("consultations.receipt", code=opinion.receipt_code))
        form.code.errors.append(
            _("No opinion has this receipt code. Check the code and try again.")
        )
    return render_template("consultations/receipt_lookup.html", form=form)


@bp.get("/receipts/<code>")
def receipt(code: str):
    """Show the status of one opinion to anyone with its code, and nothing personal."""
    opinion = operations.find_by_receipt(code)
    if opinion is None:
        abort(404)
    item = operations.item_of(opinion)
    return render_template(
        "consultations/receipt.html",
        opinion=opinion,
        item=item,
        published=item is not None and item.status == ItemStatus.PUBLISHED,
        new=request.args.get("new") == "1",
    )


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.STAFF)
def create():
    """Create a consultation as a draft."""
    form = ConsultationForm()
    if form.validate_on_submit():
        consultation = operations.save_consultation(
            None, _data(form), current_user._get_current_object()
        )
        db.session.commit()
        flash(_("The consultation is saved as a draft."), "success")
        return redirect(url_for("consultations.show", consultation_id=consultation.id))
    return render_template("consultations/edit.html", form=form, consultation=None, fixed=set())


@bp.route("/<int:consultation_id>/edit", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit(consultation_id: int):
    """Edit a consultation; its draft text can change until it opens."""
    consultation = _load(consultation_id, "edit")
    fixed = operations.fixed_fields(consultation)
    form = ConsultationForm(
        obj=consultation,
        draft=operations.draft_text(consultation),
        fixed=fixed,
        consultation=consultation,
    )
    if form.validate_on_submit():
        try:
            operations.save_consultation(
                consultation, _data(form), current_user._get_current_object()
            )
        except IllegalMove:  # it opened or closed while the form was being filled in
            db.session.rollback()
            flash(_("The consultation has changed state meanwhile: check it and try again."))
            return redirect(url_for("consultations.edit", consultation_id=consultation.id))
        db.session.commit()
        flash(_("The consultation is saved."), "success")
        return redirect(url_for("consultations.show", consultation_id=consultation.id))
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "consultations/edit.html", form=form, consultation=consultation, fixed=fixed
        ),
        status,
    )


@bp.post("/<int:consultation_id>/state")
@role_required(Role.STAFF)
def change_state(consultation_id: int):
    """Release a draft (to open on time, or at once), take it back, or close it by hand."""
    consultation = _load(consultation_id, "edit")
    asked = _confirm_move(
        consultation, request.form.get("state", ""), request.form.get("when") == "now"
    )
    if asked is not None:
        return asked
    try:
        target = State(request.form.get("state", ""))
        at_once = request.form.get("when") == "now"
        operations.move(consultation, target, current_user._get_current_object(), at_once)
    except (ValueError, IllegalMove):
        db.session.rollback()
        flash(_("That change of state is not possible now."), "error")
    else:
        db.session.commit()
        flash(_moved(consultation), "success")
    return redirect(url_for("consultations.show", consultation_id=consultation.id))


def _confirm_move(consultation: Consultation, target: str, at_once: bool):
    """The confirmation page of a move that cannot be undone (opening at once fixes the draft,
    closing early stops the opinions), or None: a draft started to open on time can still go
    back to draft until then."""
    back = url_for("consultations.show", consultation_id=consultation.id)
    now = consultation.current_state()
    if target == State.OPEN.value and at_once and now in (State.DRAFT, State.OPEN):
        return confirm.ask(
            title=_("Open this consultation now?"),
            consequence=_(
                "It becomes public and residents can send opinions. The draft text can no longer "
                "be changed, and a consultation cannot go back to draft."
            ),
            button=_("Start taking opinions now"),
            cancel_url=back,
        )
    if target == State.CLOSED.value and now == State.OPEN:
        return confirm.ask(
            title=_("Close this consultation now?"),
            consequence=_(
                "No more opinions are accepted, although it was to stay open until %(closes)s. "
                "A closed consultation cannot be opened again.",
                closes=tokyo_datetime(consultation.closes_at),
            ),
            button=_("Close now"),
            cancel_url=back,
        )
    return None


def _moved(consultation: Consultation) -> str:
    """What the change of state did, in words."""
    if consultation.opens_later():
        return _(
            "The consultation is public and starts taking opinions by itself on %(date)s.",
            date=tokyo_datetime(consultation.opens_at),
        )
    return {
        State.DRAFT: _("The consultation is a draft again, seen by staff only."),
        State.OPEN: _("The consultation takes opinions from now on."),
        State.CLOSED: _("The consultation no longer takes opinions."),
    }.get(consultation.current_state(), _("The state is changed."))


def _data(form: ConsultationForm) -> operations.ConsultationData:
    return operations.ConsultationData(
        title=form.title.data,
        summary=form.summary.data,
        department=form.department.data,
        contact=form.contact.data,
        topics=form.topics.data or "",
        area=form.area.data or None,
        opens_at=form.opens_at.data if "opens_at" in form else None,
        closes_at=form.closes_at.data if "closes_at" in form else None,
        draft=form.draft.data if "draft" in form else None,
    )


@bp.app_template_global()
def consultation_state(consultation: Consultation) -> str:
    """The state of a consultation now, in the page language."""
    return {
        State.DRAFT: _("Draft, not public"),
        State.OPEN: _("Open for opinions")
        if consultation.accepts_opinions()
        else _("Opening soon"),
        State.CLOSED: _("Closed"),
        State.PUBLISHED: _("Results published"),
    }[consultation.current_state()]


def _own_opinion(opinion_id: int) -> Opinion:
    opinion = db.get_or_404(Opinion, opinion_id)
    if not current_user.is_authenticated:
        abort(401)
    if opinion.author_id != current_user.id:
        abort(403)
    return opinion


@bp.post("/opinions/<int:opinion_id>/react")
@login_required
def react(opinion_id: int):
    """Agree, disagree or pass on a published opinion (one reaction per person, changeable)."""
    opinion = db.get_or_404(Opinion, opinion_id)
    _load(opinion.consultation_id)
    try:
        operations.react(
            opinion, current_user._get_current_object(), ReactionKind(request.form.get("kind"))
        )
    except (ValueError, operations.NotAllowed):
        db.session.rollback()
        flash(_("You cannot react to this opinion."), "error")
    else:
        db.session.commit()
        flash(_("Your reaction is saved."), "success")
    target = url_for("consultations.show", consultation_id=opinion.consultation_id)
    return redirect(f"{target}#opinion-{opinion.id}")


@bp.route("/opinions/<int:opinion_id>/edit", methods=["GET", "POST"])
@login_required
def edit_opinion(opinion_id: int):
    """Change an own opinion while the consultation is open; it is checked again."""
    opinion = _own_opinion(opinion_id)
    item = operations.item_of(opinion)
    form = EditOpinionForm(body=item.original_text if item else "")
    if not opinion.consultation.accepts_opinions() or opinion.withdrawn_at:
        flash(_("This opinion can no longer be changed."), "error")
        return redirect(url_for("consultations.receipt", code=opinion.receipt_code))
    if form.validate_on_submit():
        operations.edit_opinion(opinion, current_user._get_current_object(), form.body.scan_result)
        db.session.commit()
        flash(_("Your opinion is changed."), "success")
        return redirect(url_for("consultations.receipt", code=opinion.receipt_code))
    return render_template("consultations/edit_opinion.html", form=form, opinion=opinion)


@bp.post("/opinions/<int:opinion_id>/withdraw")
@login_required
def withdraw_opinion(opinion_id: int):
    """Withdraw an own opinion while the consultation is open."""
    opinion = _own_opinion(opinion_id)
    if opinion.withdrawn_at is None and opinion.consultation.accepts_opinions():
        page = confirm.ask(
            title=_("Withdraw your opinion?"),
            consequence=_(
                "Your opinion %(code)s leaves the public list and is not considered in the "
                "results. A withdrawn opinion cannot be sent back; you may send a new one while "
                "the consultation is open.",
                code=opinion.receipt_code,
            ),
            button=_("Withdraw my opinion"),
            cancel_url=url_for("consultations.receipt", code=opinion.receipt_code),
        )
        if page is not None:
            return page
    try:
        operations.withdraw_opinion(opinion, current_user._get_current_object())
    except operations.NotAllowed:
        flash(_("This opinion can no longer be changed."), "error")
    else:
        db.session.commit()
        flash(_("Your opinion is withdrawn."), "success")
    return redirect(url_for("consultations.my_voice"))


@bp.get("/my-voice")
@login_required
def my_voice():
    """Every opinion the person sent, each with where it stands (and its theme, where the
    consultation shows them)."""
    from app.forms.operations import my_submissions  # (app.forms builds on this module)
    from app.themes.public import themes_of_opinions  # app.themes builds on this module

    entries = operations.my_opinions(current_user._get_current_object())
    return render_template(
        "consultations/my_voice.html",
        entries=entries,
        submissions=my_submissions(current_user._get_current_object()),
        themes=themes_of_opinions([opinion for opinion, _item in entries]),
        form=ActionForm(),
    )


# --- attachments (PDF) ---------------------------------------------------------------------------


@bp.route("/<int:consultation_id>/attachments", methods=["GET", "POST"])
@role_required(Role.STAFF)
def manage_attachments(consultation_id: int):
    """Staff add PDF documents to a consultation and remove them."""
    consultation = _load(consultation_id, "edit")
    limit_mb = current_app.config["ATTACHMENT_MAX_MB"]  # app.security.body_limit applies it
    form = AttachmentForm()
    if form.validate_on_submit():
        try:
            attachments.add(
                consultation, current_user._get_current_object(), form.title.data, form.file.data
            )
        except attachments.BadFile as exc:
            db.session.rollback()
            form.file.errors.append(_attachment_problem(exc, limit_mb))
        else:
            db.session.commit()
            flash(_("The document is added."), "success")
            return redirect(
                url_for("consultations.manage_attachments", consultation_id=consultation_id)
            )
    return (
        render_template(
            "consultations/attachments.html",
            consultation=consultation,
            form=form,
            action_form=ActionForm(),
            limit_mb=limit_mb,
        ),
        422 if form.errors else 200,
    )


def _attachment_problem(exc: attachments.BadFile, limit_mb: int) -> str:
    if exc.code == "too_large":
        return _(
            "The file is %(size).1f MB; the limit is %(max)d MB.",
            size=exc.size / 1024 / 1024,
            max=limit_mb,
        )
    if exc.code == "empty":
        return _("The file is empty.")
    return _("This file is not a PDF. Save the document as PDF and choose it again.")


@bp.post("/<int:consultation_id>/attachments/<int:attachment_id>/delete")
@role_required(Role.STAFF)
def delete_attachment(consultation_id: int, attachment_id: int):
    consultation = _load(consultation_id, "edit")
    attachment = db.get_or_404(Attachment, attachment_id)
    if attachment.consultation_id != consultation.id:
        abort(404)
    page = confirm.ask(
        title=_("Remove this document?"),
        consequence=_(
            "“%(title)s” (%(file)s) is deleted and can no longer be downloaded. To show it "
            "again you would have to upload the file again.",
            title=attachment.title,
            file=attachment.filename,
        ),
        button=_("Remove the document"),
        cancel_url=url_for("consultations.manage_attachments", consultation_id=consultation_id),
    )
    if page is not None:
        return page
    if ActionForm().validate_on_submit():
        path = attachments.remove(attachment, current_user._get_current_object())
        db.session.commit()
        path.unlink(missing_ok=True)
        flash(_("The document is removed."), "success")
    return redirect(url_for("consultations.manage_attachments", consultation_id=consultation_id))


@bp.get("/<int:consultation_id>/attachments/<int:attachment_id>")
def attachment(consultation_id: int, attachment_id: int):
    """A consultation's PDF, to whoever may read the consultation."""
    consultation = _load(consultation_id)
    attachment = db.get_or_404(Attachment, attachment_id)
    if attachment.consultation_id != consultation.id:
        abort(404)
    path = attachments.path_of(attachment)
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype="application/pdf",
        download_name=attachment.filename,
        conditional=True,
        etag=attachment.sha256,
        max_age=300,
    )
