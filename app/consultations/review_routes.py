"""After closing: staff answer opinions, write the final text and publish; everyone reads the
results. Following a consultation lives here too: its point is being told of the results."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import confirm
from app.auth.forms import ActionForm
from app.auth.models import Role
from app.auth.permissions import role_required
from app.consultations import bp, results
from app.consultations.models import Answer, Disposition, Follow, Opinion, State
from app.consultations.operations import NotAllowed, with_items
from app.consultations.review_forms import (
    DISPOSITIONS,
    NEW_ANSWER,
    AnswerOpinionsForm,
    EditAnswerForm,
    FinalTextForm,
)
from app.consultations.routes import _load, is_staff
from app.extensions import db

REVIEW_PER_PAGE = 50


@bp.app_template_global()
def disposition_label(disposition) -> str:
    return str(DISPOSITIONS[Disposition(disposition)]) if disposition else ""


def _number(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def _members(theme_id: int | None, core_only: bool = False):
    """The opinion ids of the filtered theme (or its core) for ``results.review_query``."""
    if theme_id is None:
        return None
    from app.themes.operations import member_ids  # app.themes builds on app.consultations

    return member_ids(theme_id, core_only)


def _review_filters() -> tuple[int | None, bool, int | None]:
    return _number("section"), request.args.get("show") != "all", _number("theme")


def _themes(consultation) -> list[tuple[int, str]]:
    """(theme id, label) of the last grouping, finer themes after their theme, for the filter."""
    from app.themes import operations as themes

    run = themes.latest(consultation, finished=True)
    if run is None:
        return []
    options = []
    for n, theme in enumerate(themes.themes_of(run), start=1):
        options.append((theme.id, f"{n}. {theme.shown_label} ({theme.size})"))
        options += [(c.id, f"— {c.label} ({c.size})") for c in theme.children]
    return options


@bp.route("/<int:consultation_id>/review", methods=["GET", "POST"])
@role_required(Role.STAFF)
def review(consultation_id: int):
    """Staff read the opinions and give them the ward's view and a disposition, one or many."""
    consultation = _load(consultation_id, "edit")
    section_id, unanswered, theme_id = _review_filters()
    answers = results.answers(consultation)
    form = AnswerOpinionsForm(answers=answers)
    status = 200
    whole = request.method == "POST" and request.form.get("whole") == "y" and theme_id is not None
    if whole:
        # one view for a whole theme: the opinions of its core the filters show, on every
        # page; those marked 要確認 (outside the core) only when staff tick them
        form.opinions.data = [
            o.id
            for o in db.session.scalars(
                results.review_query(
                    consultation, section_id, unanswered, _members(theme_id, core_only=True)
                )
            )
        ]
        form.opinions.tampered = False
    from app.themes import operations as themes  # app.themes builds on this module

    draft = _number("draft")
    if request.method == "GET" and draft is not None:
        earlier = themes.earlier_answer(draft, consultation)
        if earlier is not None:  # staff start from how the ward answered much the same before
            form.answer.data, form.body.data = NEW_ANSWER, earlier.body
    if request.method == "POST":
        if not results.editable(consultation):
            flash(
                _("Answers are written after the consultation closes, until it is published."),
                "error",
            )
            return redirect(request.full_path)
        if form.validate_on_submit():
            answer = None
            if form.answer.data != NEW_ANSWER:
                answer = db.session.get(Answer, int(form.answer.data))
            try:
                results.answer_opinions(
                    consultation,
                    current_user._get_current_object(),
                    form.opinions.data,
                    disposition=Disposition(form.disposition.data),
                    reason=form.reason.data,
                    answer=answer,
                    summary=form.summary.data or "",
                    body=form.body.data or "",
                )
            except NotAllowed:
                db.session.rollback()
                flash(_("Those opinions cannot be answered here; reload the page."), "error")
            else:
                db.session.commit()
                flash(
                    ngettext(
                        "The ward's view is saved for %(num)d opinion.",
                        "The ward's view is saved for %(num)d opinions.",
                        len(form.opinions.data),
                    ),
                    "success",
                )
                return redirect(request.full_path)
        status = 422
    page = db.paginate(
        results.review_query(consultation, section_id, unanswered, _members(theme_id)),
        per_page=REVIEW_PER_PAGE,
        error_out=False,
    )
    fits, core_total = {}, 0
    if theme_id is not None:
        from app.themes.operations import fits_of  # app.themes builds on app.consultations

        fits = fits_of(theme_id, [o.id for o in page.items])
        core_total = db.session.scalar(
            select(db.func.count()).select_from(
                results.review_query(
                    consultation, section_id, unanswered, _members(theme_id, core_only=True)
                ).subquery()
            )
        )
    return (
        render_template(
            "consultations/review.html",
            consultation=consultation,
            page=page,
            fits=fits,
            core_total=core_total,
            rows=with_items(page.items),
            form=form,
            answers=answers,
            section_id=section_id,
            unanswered=unanswered,
            theme_id=theme_id,
            themes=_themes(consultation),
            suggestions=themes.suggestions(consultation, theme_id) if theme_id else [],
            whole=whole,
            ticked=set(form.opinions.data or []),
            readiness=results.readiness(consultation),
            editable=results.editable(consultation),
        ),
        status,
    )


@bp.route("/<int:consultation_id>/answers/<int:answer_id>", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit_answer(consultation_id: int, answer_id: int):
    consultation = _load(consultation_id, "edit")
    answer = db.get_or_404(Answer, answer_id)
    if answer.consultation_id != consultation.id:
        abort(404)
    form = EditAnswerForm(obj=answer)
    if form.validate_on_submit():
        try:
            results.update_answer(
                answer, current_user._get_current_object(), form.summary.data or "", form.body.data
            )
        except NotAllowed:
            db.session.rollback()
            flash(
                _("Answers are written after the consultation closes, until it is published."),
                "error",
            )
        else:
            db.session.commit()
            flash(_("The ward's view is saved."), "success")
            return redirect(
                url_for("consultations.review", consultation_id=consultation.id, show="all")
            )
    return render_template(
        "consultations/answer_edit.html", consultation=consultation, answer=answer, form=form
    )


@bp.route("/<int:consultation_id>/final", methods=["GET", "POST"])
@role_required(Role.STAFF)
def final_text(consultation_id: int):
    """Staff write the final text, section by section, starting from the draft."""
    consultation = _load(consultation_id, "edit")
    sections = consultation.sections
    if request.method == "POST":
        form = FinalTextForm()
    else:
        form = FinalTextForm(
            data={
                "sections": [s.final_body if s.final_body is not None else s.body for s in sections]
            }
        )
    form.expected = len(sections)
    for entry, section in zip(form.sections.entries, sections, strict=False):
        entry.label.text = section.heading or _("Section %(n)d", n=section.position)
    if form.validate_on_submit():
        try:
            changed = results.save_final_text(
                consultation,
                current_user._get_current_object(),
                {
                    s.id: entry.data or ""
                    for s, entry in zip(sections, form.sections.entries, strict=True)
                },
            )
        except NotAllowed:
            db.session.rollback()
            flash(
                _("Answers are written after the consultation closes, until it is published."),
                "error",
            )
        else:
            db.session.commit()
            flash(
                ngettext(
                    "The final text is saved; %(num)d section differs from the draft.",
                    "The final text is saved; %(num)d sections differ from the draft.",
                    changed,
                ),
                "success",
            )
            return redirect(url_for("consultations.final_text", consultation_id=consultation.id))
    return render_template(
        "consultations/final.html",
        consultation=consultation,
        form=form,
        diffs=results.section_diffs(consultation),
        editable=results.editable(consultation),
    ), (422 if form.errors else 200)


@bp.post("/<int:consultation_id>/publish")
@role_required(Role.STAFF)
def publish(consultation_id: int):
    """Publish the results; every submitter and follower is told (the mails go as jobs)."""
    consultation = _load(consultation_id, "edit")
    state = results.readiness(consultation)
    if consultation.current_state() == State.CLOSED and state.ready:
        page = confirm.ask(
            title=_("Publish the results?"),
            consequence=_(
                "Everyone can then read every opinion with the ward's view and disposition, and "
                "each person who sent an opinion or follows the consultation is told by e-mail. "
                "Published results cannot be taken back or changed."
            ),
            details=[
                ngettext(
                    "%(num)d opinion is in the results.",
                    "%(num)d opinions are in the results.",
                    state.considered,
                )
            ],
            button=_("Publish the results"),
            cancel_url=url_for("consultations.review", consultation_id=consultation.id),
        )
        if page is not None:
            return page
    try:
        told = results.publish(consultation, current_user._get_current_object())
    except results.NotReady as exc:
        db.session.rollback()
        state = exc.readiness
        if consultation.current_state() != State.CLOSED:
            flash(_("Results are published once, after the consultation closes."), "error")
        else:
            flash(
                _(
                    "The results cannot be published yet: %(held)d opinions wait for "
                    "moderation and %(open)d have no view or disposition.",
                    held=state.held,
                    open=state.without_answer,
                ),
                "error",
            )
        return redirect(url_for("consultations.review", consultation_id=consultation.id))
    db.session.commit()
    flash(
        ngettext(
            "The results are published; %(num)d person is told.",
            "The results are published; %(num)d people are told.",
            told,
        ),
        "success",
    )
    return redirect(url_for("consultations.results_page", consultation_id=consultation.id))


def _load_results(consultation_id: int):
    consultation = _load(consultation_id)
    state = consultation.current_state()
    # staff preview the results as they stand from the first opinion (the review page links
    # the preview while the consultation still runs); residents see them once published
    if state != State.PUBLISHED and not (is_staff() and state in (State.OPEN, State.CLOSED)):
        abort(404)
    return consultation


@bp.get("/<int:consultation_id>/results")
def results_page(consultation_id: int):
    """The results as Japanese law expects: each opinion, the ward's view and the disposition;
    counts by section and disposition; the final text against the draft."""
    consultation = _load_results(consultation_id)
    page = db.paginate(
        results.table_query(consultation), per_page=results.ROWS_PER_PAGE, error_out=False
    )
    return render_template(
        "consultations/results.html",
        consultation=consultation,
        page=page,
        groups=results.group_rows(with_items(page.items)),
        same=results.same_counts(page.items),
        count_table=results.count_table(consultation),
        dispositions=DISPOSITIONS,
        diffs=results.section_diffs(consultation),
        preview=consultation.current_state() != State.PUBLISHED,
        downloads=_downloads(consultation),
    )


CSV_ROWS = 1000  # the open-data API's largest CSV page (app.api.params.PER_PAGE)


def _downloads(consultation) -> dict | None:
    """The open-data files of published results: the JSON and each CSV part (one file holds
    at most CSV_ROWS opinions); None before they are published (the API has nothing yet)."""
    if consultation.current_state() != State.PUBLISHED:
        return None
    rows = db.session.scalar(
        select(func.count()).select_from(
            results.table_query(consultation, fold=False).order_by(None).subquery()
        )
    )
    parts = max(1, -(-rows // CSV_ROWS))
    endpoint = "api.consultation_results"
    return {
        "rows": rows,
        "json": url_for(endpoint, consultation_id=consultation.id),
        "csv": [
            url_for(endpoint, consultation_id=consultation.id, format="csv", page=n)
            for n in range(1, parts + 1)
        ],
    }


@bp.get("/<int:consultation_id>/results/opinions/<int:opinion_id>")
def result_line(consultation_id: int, opinion_id: int):
    """The line of one opinion in the results table (the link in the notification)."""
    consultation = _load_results(consultation_id)
    opinion = db.get_or_404(Opinion, opinion_id)
    page = results.line_page(consultation, opinion)
    if page is None:
        target = url_for("consultations.results_page", consultation_id=consultation.id)
        return redirect(target)
    target = url_for("consultations.results_page", consultation_id=consultation.id, page=page)
    return redirect(f"{target}#opinion-{results.line_of(opinion).id}")


@bp.post("/<int:consultation_id>/follow")
@login_required
def follow(consultation_id: int):
    """Follow or stop following a consultation (told when its results are published)."""
    consultation = _load(consultation_id)
    form = ActionForm()
    if form.validate_on_submit():
        existing = db.session.scalar(
            select(Follow).where(
                Follow.user_id == current_user.id, Follow.consultation_id == consultation.id
            )
        )
        if request.form.get("follow") == "1" and existing is None:
            db.session.add(Follow(user_id=current_user.id, consultation_id=consultation.id))
            flash(
                _("You follow this consultation; you will be told when its results are published."),
                "success",
            )
        elif request.form.get("follow") == "0" and existing is not None:
            db.session.delete(existing)
            flash(_("You no longer follow this consultation."), "success")
        db.session.commit()
    return redirect(url_for("consultations.show", consultation_id=consultation.id))


def is_following(consultation) -> bool:
    if not current_user.is_authenticated:
        return False
    return (
        db.session.scalar(
            select(Follow.id).where(
                Follow.user_id == current_user.id, Follow.consultation_id == consultation.id
            )
        )
        is not None
    )


bp.add_app_template_global(is_following, "is_following")
bp.add_app_template_global(results.reflected_in_text, "reflected_in_text")
