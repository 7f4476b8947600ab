"""Pages of online forms: the builder and the answers for staff; filling in (with a
confirmation page) and the receipt for residents."""

from __future__ import annotations

import secrets

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app import audit, confirm, jobs
from app.auth.models import Role
from app.auth.permissions import role_required
from app.consultations.operations import normalise_receipt
from app.extensions import db, limiter
from app.forms import bp, grouping, operations, postal, uploads
from app.forms.builder import KINDS, AnswerFilterForm, FieldForm, SettingsForm
from app.forms.definition import answer_form, carried_values, shown, stored_answers
from app.forms.models import (
    CHOICE_KINDS,
    TEXT_KINDS,
    FieldKind,
    FormField,
    FormState,
    OnlineForm,
    Submission,
)
from app.i18n import tokyo_datetime

ANSWERS_PER_PAGE = 50


def _staff() -> bool:
    return current_user.is_authenticated and current_user.has_role(Role.STAFF)


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _form_or_404(form_id: int, staff_only: bool = False) -> OnlineForm:
    online_form = db.get_or_404(OnlineForm, form_id)
    if (staff_only or online_form.state == FormState.DRAFT) and not _staff():
        abort(404)
    return online_form


def may_read_answers(online_form: OnlineForm) -> bool:
    """The answers hold personal data: the staff member who built the form reads them, and so
    do staff of the form's department and admins (a form without a department is open to all
    staff)."""
    if not _staff():
        return False
    user = current_user
    return (
        user.has_role(Role.ADMIN)
        or online_form.created_by_id == user.id
        or not online_form.department
        or (user.department or "") == online_form.department
    )


def _question_of(online_form: OnlineForm, field_id: int) -> FormField:
    """A question of this form (404 for another form's)."""
    question = db.session.get(FormField, field_id)
    if question is None or question.form_id != online_form.id:
        abort(404)
    return question


def _answers_of(form_id: int) -> OnlineForm:
    online_form = _form_or_404(form_id, staff_only=True)
    if not may_read_answers(online_form):
        abort(403)
    return online_form


# --- residents ------------------------------------------------------------------------------


@bp.get("/")
def index():
    query = select(OnlineForm).order_by(OnlineForm.created_at.desc(), OnlineForm.id.desc())
    if not _staff():
        query = query.where(OnlineForm.state != FormState.DRAFT)
    page = db.paginate(query, per_page=20, error_out=False)
    return render_template("forms/index.html", page=page, staff=_staff())


REFUSALS = {
    "closed": _l("This form does not take answers now."),
    "login": _l("Log in to answer this form."),
    "answered": _l("You have already answered this form. Your answers are in My voice."),
    "full": _l("This form has taken as many answers as it can."),
}


def _refusal(reason: str, online_form: OnlineForm | None = None) -> str:
    if reason == "later" and online_form is not None:
        return _(
            "This form takes answers from %(date)s.", date=tokyo_datetime(online_form.opens_at)
        )
    return str(REFUSALS.get(reason, REFUSALS["closed"]))


@bp.route("/<int:form_id>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["FORM_LIMIT_IP"], methods=["POST"])
def fill(form_id: int):
    """The form; then its confirmation page (確認画面); then the receipt."""
    online_form = _form_or_404(form_id)
    user = _user()
    try:
        operations.check_open(online_form, user)
        refusal = None
    except operations.NotAllowed as exc:
        refusal = exc.reason
    if request.method == "GET":
        prefill = request.args.get("prefill") == "1" and user is not None
        draft = None if prefill else operations.draft_of(online_form, user)
        if draft is not None:  # what the person saved last time, as they typed it
            form = answer_form(online_form, MultiDict(_pairs(draft.values)))
        else:
            data = operations.profile_values(online_form, user) if prefill else None
            form = answer_form(online_form, data=data)
        form.key.data = secrets.token_urlsafe(16)
        return _fill_page(online_form, form, refusal, prefilled=prefill, draft=draft)
    form = answer_form(online_form, request.form)
    pages = online_form.pages()
    at = _page_number(request.form.get("at"), len(pages))
    if request.form.get("lookup") and refusal is None:
        return _fill_in_address(online_form, form, request.form["lookup"], at)
    step = request.form.get("step", "confirm")
    if step == "draft" and refusal is None and user is not None:
        operations.save_draft(online_form, user, request.form)
        db.session.commit()
        flash(_("Your answers are saved. Come back to this form to finish them."), "success")
        return redirect(url_for("forms.fill", form_id=online_form.id))
    if refusal is not None and not operations.find_by_key(
        online_form, user, (form.key.data or "")[:64]
    ):
        flash(_refusal(refusal, online_form), "error")
        return _fill_page(online_form, form, refusal, 409)
    if step in ("next", "back") and len(pages) > 1:
        # a page of a form in pages: its answers are checked (files kept, conditions applied);
        # Back never stops on an error
        form.validate_on_submit()
        if step == "next" and _has_errors(form, pages[at]):
            return _fill_page(online_form, form, None, 422, at=at)
        to = at + 1 if step == "next" else at - 1
        return _fill_page(online_form, form, None, at=max(0, min(to, len(pages) - 1)), fresh=True)
    if not form.validate_on_submit():
        first = next((n for n, page in enumerate(pages) if _has_errors(form, page)), at)
        return _fill_page(online_form, form, None, 422, at=first)
    if step == "edit":
        return _fill_page(online_form, form, None, fresh=True)
    if step != "send":
        rows = [
            (f, shown(f, form._fields[f.key].data)) for f in online_form.questions if form.asked(f)
        ]
        return render_template("forms/confirm.html", online_form=online_form, form=form, rows=rows)
    try:
        submission, _created = operations.submit(
            online_form, user, stored_answers(online_form, form), (form.key.data or "")[:64]
        )
    except operations.NotAllowed as exc:
        db.session.rollback()
        flash(_refusal(exc.reason, online_form), "error")
        return _fill_page(online_form, form, exc.reason, 409)
    if _created and user is not None and online_form.receipt_mail:
        jobs.enqueue("form_receipt_mail", submission_id=submission.id, locale=str(get_locale()))
    db.session.commit()
    return redirect(url_for("forms.receipt", code=submission.receipt_code))


def _page_number(value: str | None, count: int) -> int:
    try:
        return max(0, min(int(value or 0), count - 1))
    except ValueError:
        return 0


def _has_errors(form, page: list[FormField]) -> bool:
    return any(form._fields[f.key].errors for f in page if f.kind != FieldKind.SECTION)


def _fill_in_address(online_form: OnlineForm, form, key: str, at: int = 0):
    """The button beside a postal code, without JavaScript: the same page again, every answer
    kept, the address question filled from the code; nothing is stored."""
    question = next(
        (f for f in online_form.questions if f.key == key and f.kind == FieldKind.POSTAL_CODE), None
    )
    target = postal.address_question(online_form)
    if question is None or target is None:
        abort(400)
    field = form._fields[question.key]
    code = postal.normalise(field.data)
    address = postal.address_of(code)
    if code is None:
        field.errors = [_("Enter a postal code like 123-4567.")]
    elif address is None:
        field.errors = [
            _("No address is known for this postal code. Check it, or write the address yourself.")
        ]
    else:
        field.data = code
        form._fields[target.key].data = address
        return _fill_page(online_form, form, None, address_found=(target, address), at=at)
    return _fill_page(online_form, form, None, 422, at=at)


@bp.get("/postal-address")
@limiter.limit(lambda: current_app.config["FORM_LIMIT_IP"])
def postal_address():
    """The address of a postal code, for the form page's script (JSON)."""
    code = postal.normalise(request.args.get("code"))
    if code is None:
        return jsonify(error=_("Enter a postal code like 123-4567.")), 400
    address = postal.address_of(code)
    if address is None:
        message = _(
            "No address is known for this postal code. Check it, or write the address yourself."
        )
        return jsonify(error=message), 404
    return jsonify(address=address)


def _pairs(values: dict) -> list[tuple[str, str]]:
    return [(name, v) for name, listed in values.items() for v in listed]


def _fill_page(
    online_form: OnlineForm,
    form,
    refusal: str | None,
    status: int = 200,
    prefilled=False,
    draft=None,
    address_found=None,
    at: int = 0,
    fresh: bool = False,
):
    """The form page; of a form in pages, page ``at`` with the other answers carried in it.
    Only that page's messages show, and none on a page just turned to (``fresh``)."""
    pages = online_form.pages()
    page = pages[at]
    for question in online_form.questions:
        if fresh or question not in page:
            form._fields[question.key].errors = []
    form._errors = None
    return (
        render_template(
            "forms/fill.html",
            online_form=online_form,
            form=form,
            prefilled=prefilled,
            draft=draft,
            can_prefill=current_user.is_authenticated
            and any(f.prefill for f in online_form.fields),
            refusal=_refusal(refusal, online_form) if refusal else None,
            refusal_kind=refusal,
            address_question=postal.address_question(online_form),
            address_found=address_found,
            at=at,
            page=page,
            pages=len(pages),
            carried_values=carried_values,
        ),
        status,
    )


@bp.get("/receipts/<code>")
def receipt(code: str):
    """The receipt: the code and the thank-you for anyone who has it; the answers only for
    the person who sent them (and staff)."""
    submission = operations.find_by_receipt(normalise_receipt(code))
    if submission is None:
        abort(404)
    user = _user()
    own = user is not None and (submission.user_id == user.id or may_read_answers(submission.form))
    rows = []
    if own:
        rows = [(f, shown(f, submission.answers.get(f.key))) for f in submission.form.questions]
    return render_template("forms/receipt.html", submission=submission, rows=rows)


# --- staff: the builder ---------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.STAFF)
def new():
    form = SettingsForm()
    if form.validate_on_submit():
        online_form = OnlineForm(created_by_id=current_user.id)
        _apply_settings(online_form, form)
        db.session.add(online_form)
        db.session.flush()
        audit.record("form.create", online_form)
        db.session.commit()
        flash(_("The form is created. Now add its questions."), "success")
        return redirect(url_for("forms.edit", form_id=online_form.id))
    return render_template("forms/settings.html", form=form, online_form=None), (
        422 if request.method == "POST" else 200
    )


def _apply_settings(online_form: OnlineForm, form: SettingsForm) -> None:
    for name in ("title", "description", "department", "thank_you", "opens_at", "closes_at"):
        setattr(online_form, name, form[name].data or ("" if "_at" not in name else None))
    online_form.one_per_person = form.one_per_person.data
    online_form.login_required = form.login_required.data or form.one_per_person.data
    online_form.max_answers = form.max_answers.data
    online_form.receipt_mail = form.receipt_mail.data
    online_form.summary_public = form.summary_public.data
    online_form.paged = form.paged.data
    online_form.retention_days = form.retention_days.data


@bp.route("/<int:form_id>/edit", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit(form_id: int):
    online_form = _form_or_404(form_id, staff_only=True)
    form = SettingsForm(obj=online_form)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            _apply_settings(online_form, form)
            audit.record("form.edit", online_form)
            db.session.commit()
            flash(_("The form is saved."), "success")
            return redirect(url_for("forms.edit", form_id=online_form.id))
        status = 422
    return (
        render_template(
            "forms/edit.html",
            online_form=online_form,
            form=form,
            kinds=KINDS,
            answers=operations.count(online_form),
            may_read=may_read_answers(online_form),
        ),
        status,
    )


@bp.post("/<int:form_id>/copy")
@role_required(Role.STAFF)
def copy(form_id: int):
    """A new draft form with the same settings and questions."""
    online_form = _form_or_404(form_id, staff_only=True)
    twin = operations.copy(online_form, _user(), _("%(title)s (copy)", title=online_form.title))
    db.session.commit()
    flash(_("The form is copied as a draft, without its answers."), "success")
    return redirect(url_for("forms.edit", form_id=twin.id))


@bp.post("/<int:form_id>/state")
@role_required(Role.STAFF)
def change_state(form_id: int):
    online_form = _form_or_404(form_id, staff_only=True)
    if (
        request.form.get("to") == FormState.OPEN.value
        and online_form.state == FormState.DRAFT
        and online_form.questions
    ):
        page = confirm.ask(
            title=_("Open this form now?"),
            consequence=_(
                "Residents can answer it at once, and its questions can no longer be added, "
                "changed or removed (you may still close it and open it again)."
            ),
            details=[
                ngettext("%(num)d question.", "%(num)d questions.", len(online_form.questions))
            ],
            button=_("Open the form"),
            cancel_url=url_for("forms.edit", form_id=online_form.id),
            danger=False,
        )
        if page is not None:
            return page
    try:
        operations.move(online_form, FormState(request.form.get("to", "")), _user())
    except ValueError:  # an unknown state, or a move the form's life does not allow
        db.session.rollback()
        flash(_("That change is not possible now (a form needs a question to open)."), "error")
    else:
        db.session.commit()
        flash(_("The form's state is changed."), "success")
    return redirect(url_for("forms.edit", form_id=online_form.id))


def _field_values(form: FieldForm) -> dict:
    kind = FieldKind(form.kind.data)
    values = {
        "kind": kind,
        "label": form.label.data.strip(),
        "help": (form.help.data or "").strip(),
        "required": form.required.data,
        "public": form.public.data,
        "prefill": form.prefill.data or None,
        "pattern": (form.pattern.data or None) if kind in TEXT_KINDS else None,
        "show_if_id": int(form.show_if.data) if form.show_if.data else None,
        "show_if_value": (form.show_if_value.data or "").strip() if form.show_if.data else None,
        "choices": form.choice_list() if kind in CHOICE_KINDS else [],
        "minimum": form.minimum.data,
        "maximum": form.maximum.data,
    }
    if kind == FieldKind.SECTION:  # a heading and its text: nothing else applies
        values.update(
            required=False, public=False, prefill=None, pattern=None, show_if_id=None,
            show_if_value=None, minimum=None, maximum=None,
        )  # fmt: skip
    return values


@bp.route("/<int:form_id>/questions/new", methods=["GET", "POST"])
@bp.route("/<int:form_id>/questions/<int:field_id>", methods=["GET", "POST"])
@role_required(Role.STAFF)
def question(form_id: int, field_id: int | None = None):
    online_form = _form_or_404(form_id, staff_only=True)
    existing = _question_of(online_form, field_id) if field_id is not None else None
    earlier = [f for f in online_form.fields if existing is None or f.position < existing.position]
    form = FieldForm(obj=existing, earlier=earlier)
    if request.method == "GET" and existing is not None:
        form.kind.data = existing.kind.value
        form.prefill.data = existing.prefill or ""
        form.pattern.data = existing.pattern or ""
        form.show_if.data = str(existing.show_if_id or "")
        form.choices.data = "\n".join(existing.choices)
    if form.validate_on_submit():
        try:
            if existing is None:
                operations.add_field(online_form, _user(), **_field_values(form))
            else:
                operations.update_field(existing, _user(), **_field_values(form))
        except ValueError:
            db.session.rollback()
            flash(_("Questions change only while the form is a draft."), "error")
        else:
            db.session.commit()
            flash(_("The question is saved."), "success")
        return redirect(url_for("forms.edit", form_id=online_form.id))
    return render_template(
        "forms/question.html", online_form=online_form, form=form, existing=existing
    ), (422 if request.method == "POST" else 200)


@bp.post("/<int:form_id>/questions/<int:field_id>/<action>")
@role_required(Role.STAFF)
def question_action(form_id: int, field_id: int, action: str):
    """Move a question up or down, or remove it."""
    online_form = _form_or_404(form_id, staff_only=True)
    if action not in ("up", "down", "delete"):
        abort(404)
    existing = _question_of(online_form, field_id)
    if action == "delete" and online_form.state == FormState.DRAFT:
        page = confirm.ask(
            title=_("Remove this question?"),
            consequence=_(
                "“%(label)s” is removed from the form with its settings; to have it again you "
                "would write it again.",
                label=existing.label,
            ),
            button=_("Remove the question"),
            cancel_url=url_for("forms.edit", form_id=online_form.id),
        )
        if page is not None:
            return page
    try:
        if action == "delete":
            operations.remove_field(existing, _user())
        else:
            operations.shift_field(existing, -1 if action == "up" else 1, _user())
    except ValueError:
        db.session.rollback()
        flash(_("Questions change only while the form is a draft."), "error")
    else:
        db.session.commit()
    return redirect(url_for("forms.edit", form_id=online_form.id))


# --- staff: the answers ---------------------------------------------------------------------


@bp.get("/<int:form_id>/answers")
@role_required(Role.STAFF)
def answers(form_id: int):
    online_form = _answers_of(form_id)
    filters, chosen = _answer_filter(online_form)
    page = db.paginate(
        operations.answers_query(online_form, chosen), per_page=ANSWERS_PER_PAGE, error_out=False
    )
    rows = [(s, [_cell(online_form, s, f) for f in online_form.questions]) for s in page.items]
    return render_template(
        "forms/answers.html",
        online_form=online_form,
        page=page,
        rows=rows,
        filters=filters,
        args=_filter_args() if not filters.errors else {},
        total=operations.count(online_form),
    )


def _answer_filter(online_form: OnlineForm) -> tuple[AnswerFilterForm, operations.AnswerFilter]:
    """The filter form from the query string, and the filter it holds (none while invalid)."""
    form = AnswerFilterForm(request.args, questions=online_form.questions)
    if not any(request.args.get(name) for name in ("answer", "since", "until", "code")):
        return form, operations.AnswerFilter()
    if not form.validate():
        return form, operations.AnswerFilter()
    question, choice = form.options.get(form.answer.data or "", (None, None))
    # a code that cannot exist ("-") finds nothing
    code = (normalise_receipt(form.code.data) or "-") if form.code.data else None
    return form, operations.AnswerFilter(
        question=question,
        choice=choice,
        since=form.since.data,
        until=form.until.data,
        code=code,
    )


def _filter_args() -> dict:
    """The filter's query string, for the pager and the CSV link."""
    names = ("answer", "since", "until", "code")
    return {name: request.args[name] for name in names if request.args.get(name)}


def _cell(online_form: OnlineForm, submission: Submission, question) -> tuple[str, str | None]:
    """An answer as shown in the table, and the link to its file, if it is one."""
    value = submission.answers.get(question.key)
    link = None
    if isinstance(value, dict):
        link = url_for(
            "forms.download",
            form_id=online_form.id,
            submission_id=submission.id,
            key=question.key,
        )
    return shown(question, value), link


@bp.get("/<int:form_id>/answers.csv")
@role_required(Role.STAFF)
def export(form_id: int):
    online_form = _answers_of(form_id)
    filters, chosen = _answer_filter(online_form)
    if filters.errors:
        abort(400)
    lines = operations.csv_lines(online_form, _user(), chosen)
    db.session.commit()  # the audit entry, before the first line goes out
    response = Response(lines, mimetype="text/csv")
    response.content_type = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="koe-form-{form_id}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:form_id>/summary")
@role_required(Role.STAFF)
def summary(form_id: int):
    online_form = _form_or_404(form_id, staff_only=True)
    total, items = operations.summaries(online_form)
    groupings = {
        item.field.id: grouping.latest(item.field)
        for item in items
        if item.field.kind in TEXT_KINDS
    }
    return render_template(
        "forms/summary.html",
        online_form=online_form,
        total=total,
        items=items,
        groupings=groupings,
        may_read=may_read_answers(online_form),
    )


@bp.post("/<int:form_id>/themes/<int:field_id>")
@role_required(Role.STAFF)
def group(form_id: int, field_id: int):
    """Group a question's written answers into themes, in the jobs process."""
    online_form = _form_or_404(form_id, staff_only=True)
    question = _question_of(online_form, field_id)
    if question.kind not in TEXT_KINDS:
        abort(404)
    last = grouping.latest(question)
    if last is not None and last.status in ("queued", "running"):
        flash(_("A grouping is already under way; its progress is below."), "info")
    else:
        grouping.request_grouping(question, _user())
        db.session.commit()
        flash(_("The grouping has started. It runs in the background; refresh to follow it."))
    return redirect(url_for("forms.summary", form_id=online_form.id) + f"#q-{question.id}")


@bp.get("/<int:form_id>/results")
def public_summary(form_id: int):
    """The summary residents may see, when staff publish one."""
    online_form = _form_or_404(form_id)
    if not online_form.summary_public:
        abort(404)
    total, items = operations.public_summaries(online_form)
    return render_template(
        "forms/public_summary.html",
        online_form=online_form,
        total=total,
        items=items,
        smallest=operations.SMALLEST_SHOWN,
    )


@bp.get("/<int:form_id>/answers/<int:submission_id>/files/<key>")
@role_required(Role.STAFF)
def download(form_id: int, submission_id: int, key: str):
    """A file sent with an answer, for staff, always as a download; in the audit log."""
    online_form = _answers_of(form_id)
    submission = db.session.get(Submission, submission_id)
    if submission is None or submission.form_id != online_form.id:
        abort(404)
    record = submission.answers.get(key)
    path = uploads.path_of(record) if isinstance(record, dict) else None
    if path is None:
        abort(404)
    audit.record("form.file", online_form, details={"submission": submission.id, "question": key})
    db.session.commit()
    return send_file(
        path, mimetype=record["type"], as_attachment=True, download_name=record["name"]
    )


@bp.app_template_global("sign_upload")
def sign_upload(record: dict) -> str:
    return uploads.sign(record)
