"""Staff pages of the themes of a consultation."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from app import audit, confirm
from app.auth.models import Role
from app.auth.permissions import role_required
from app.consultations.operations import NotAllowed
from app.consultations.review_forms import DISPOSITIONS
from app.consultations.routes import _load
from app.extensions import db
from app.themes import bp, editing, operations
from app.themes import public as public_ops
from app.themes.forms import MergeForm, MoveForm, PublicForm, RenameForm, RunForm, SplitForm
from app.themes.models import Theme, ThemeMember

#: map colours, each at least 3:1 against white (WCAG 1.4.11); themes are also numbered
PALETTE = (
    "#1f5fa8",
    "#b3401d",
    "#2d7a2d",
    "#7a3ea0",
    "#8a6200",
    "#0f7480",
    "#b0306a",
    "#4d5b6b",
    "#a34d00",
    "#3d6e00",
)


@bp.get("/<int:consultation_id>/themes")
@role_required(Role.STAFF)
def index(consultation_id: int):
    consultation = _load(consultation_id, "edit")
    return _page(consultation, RunForm())


def _page(consultation, form: RunForm, status: int = 200):
    run = operations.latest(consultation)
    done = operations.latest(consultation, finished=True)
    themes = operations.themes_of(done) if done else []
    shown = {i for t in themes for i in t.representatives}
    shown |= {g[0] for t in themes for g in t.copies}
    points = operations.map_points(done, themes) if done else []
    return (
        render_template(
            "themes/index.html",
            consultation=consultation,
            run=run,
            done=done,
            themes=themes,
            texts=operations.public_texts(sorted(shown)),
            points=points,
            palette=PALETTE,
            form=form,
            public=PublicForm(themes_public=consultation.themes_public),
            **_groups(done),
            placed=_placed(done),
        ),
        status,
    )


def _groups(run) -> dict:
    people, groups, consensus = public_ops.public_groups(run) if run else (0, [], [])
    return {"people": people, "groups": groups, "consensus": consensus}


def _placed(run) -> int:
    """Opinions placed into the grouping since it ran (a regrouping refines them)."""
    if run is None:
        return 0
    return db.session.scalar(
        select(db.func.count())
        .select_from(ThemeMember)
        .where(ThemeMember.run_id == run.id, ThemeMember.placed.is_(True))
    )


@bp.post("/<int:consultation_id>/themes")
@role_required(Role.STAFF)
def start(consultation_id: int):
    consultation = _load(consultation_id, "edit")
    form = RunForm()
    if not form.validate_on_submit():
        return _page(consultation, form, 422)
    if operations.busy(consultation):
        flash(_("A grouping is already under way; its progress is below."), "info")
    else:
        operations.request_run(consultation, current_user._get_current_object(), form.k.data)
        db.session.commit()
        flash(_("The grouping has started. It runs in the background; refresh to follow it."))
    return redirect(url_for("themes.index", consultation_id=consultation.id))


@bp.post("/<int:consultation_id>/themes/public")
@role_required(Role.STAFF)
def publicity(consultation_id: int):
    consultation = _load(consultation_id, "edit")
    form = PublicForm()
    if form.validate_on_submit():
        consultation.themes_public = form.themes_public.data
        audit.record("themes.public", consultation, details={"public": form.themes_public.data})
        db.session.commit()
        flash(
            _("Residents now see the themes.")
            if form.themes_public.data
            else _("The themes are now for staff only."),
            "success",
        )
    return redirect(url_for("themes.index", consultation_id=consultation.id))


MEMBERS_PER_PAGE = 50


def _theme_of(consultation, theme_id: int):
    theme = editing.editable_theme(consultation, theme_id)
    if theme is None:
        abort(404)
    return theme


def _others(theme) -> list[tuple[int, object]]:
    """The other themes of the grouping, numbered as on the themes page."""
    numbered = enumerate(operations.themes_of(theme.run), start=1)
    return [(n, t) for n, t in numbered if t.id != theme.id]


@bp.get("/<int:consultation_id>/themes/<int:theme_id>")
@role_required(Role.STAFF)
def theme(consultation_id: int, theme_id: int):
    consultation = _load(consultation_id, "edit")
    theme = _theme_of(consultation, theme_id)
    return _theme_page(consultation, theme)


def _theme_page(consultation, theme, status: int = 200, **forms):
    others = _others(theme)
    page = db.paginate(
        select(ThemeMember)
        .where(ThemeMember.run_id == theme.run_id, ThemeMember.theme_id == theme.id)
        .order_by(ThemeMember.moved.desc(), ThemeMember.placed.desc(), ThemeMember.id),
        per_page=MEMBERS_PER_PAGE,
        error_out=False,
    )
    shown = [m.opinion_id for m in page.items] + list(theme.representatives)
    rename = forms.get("rename") or RenameForm(obj=theme)
    return (
        render_template(
            "themes/theme.html",
            consultation=consultation,
            theme=theme,
            number=next(
                n
                for n, t in enumerate(operations.themes_of(theme.run), start=1)
                if t.id == theme.id
            ),
            page=page,
            subtheme={c.id: c.label for c in theme.children},
            texts=operations.public_texts(shown),
            rename=rename,
            merge=forms.get("merge") or MergeForm(themes=others),
            split=SplitForm(),
            move=forms.get("move") or MoveForm(themes=others),
            frozen=consultation.results_published_at is not None,
        ),
        status,
    )


def _edited(consultation, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("themes.index", consultation_id=consultation.id))


@bp.post("/<int:consultation_id>/themes/<int:theme_id>/rename")
@role_required(Role.STAFF)
def rename(consultation_id: int, theme_id: int):
    consultation = _load(consultation_id, "edit")
    theme = _theme_of(consultation, theme_id)
    form = RenameForm()
    if not form.validate_on_submit():
        return _theme_page(consultation, theme, 422, rename=form)
    try:
        editing.rename(theme, form.label.data, form.pinned.data, current_user._get_current_object())
    except NotAllowed:
        return _frozen(consultation)
    db.session.commit()
    flash(_("The theme is renamed."), "success")
    return redirect(url_for("themes.theme", consultation_id=consultation.id, theme_id=theme.id))


def _frozen(consultation):
    db.session.rollback()
    flash(_("The results are published: the themes can no longer change."), "error")
    return redirect(url_for("themes.index", consultation_id=consultation.id))


@bp.post("/<int:consultation_id>/themes/<int:theme_id>/merge")
@role_required(Role.STAFF)
def merge(consultation_id: int, theme_id: int):
    consultation = _load(consultation_id, "edit")
    theme = _theme_of(consultation, theme_id)
    form = MergeForm(themes=_others(theme))
    if not form.validate_on_submit():
        return _theme_page(consultation, theme, 422, merge=form)
    into = _theme_of(consultation, int(form.into.data))
    label = theme.shown_label
    page = confirm.ask(
        title=_("Merge this theme?"),
        consequence=_(
            "The opinions of “%(theme)s” join “%(into)s”, and “%(theme)s” is removed with its "
            "name and summary. A merge cannot be undone: a split makes new themes instead.",
            theme=label,
            into=into.shown_label,
        ),
        button=_("Merge the themes"),
        cancel_url=url_for("themes.theme", consultation_id=consultation.id, theme_id=theme.id),
        danger=False,
    )
    if page is not None:
        return page
    try:
        editing.merge(theme, into, current_user._get_current_object())
    except NotAllowed:
        return _frozen(consultation)
    db.session.commit()
    flash(
        _("“%(theme)s” is merged into “%(into)s”.", theme=label, into=into.shown_label), "success"
    )
    return redirect(url_for("themes.theme", consultation_id=consultation.id, theme_id=into.id))


@bp.post("/<int:consultation_id>/themes/<int:theme_id>/split")
@role_required(Role.STAFF)
def split(consultation_id: int, theme_id: int):
    consultation = _load(consultation_id, "edit")
    theme = _theme_of(consultation, theme_id)
    if not SplitForm().validate_on_submit():
        return _theme_page(consultation, theme, 422)
    try:
        parts = editing.split(theme, current_user._get_current_object())
    except NotAllowed:
        return _frozen(consultation)
    except ValueError:
        flash(_("This theme has no finer themes to split into."), "error")
        return _theme_page(consultation, theme, 422)
    return _edited(
        consultation,
        ngettext(
            "The theme is split into %(num)d themes.",
            "The theme is split into %(num)d themes.",
            len(parts),
        ),
    )


@bp.post("/<int:consultation_id>/themes/<int:theme_id>/move")
@role_required(Role.STAFF)
def move(consultation_id: int, theme_id: int):
    consultation = _load(consultation_id, "edit")
    theme = _theme_of(consultation, theme_id)
    form = MoveForm(themes=_others(theme))
    if not form.validate_on_submit():
        return _theme_page(consultation, theme, 422, move=form)
    target = _theme_of(consultation, int(form.target.data))
    try:
        moved = editing.move(
            theme.run, form.opinions.data, target, current_user._get_current_object()
        )
    except NotAllowed:
        return _frozen(consultation)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d opinion is moved to “%(theme)s”.",
            "%(num)d opinions are moved to “%(theme)s”.",
            moved,
            theme=target.label,
        ),
        "success",
    )
    if db.session.get(Theme, theme_id) is None:  # it emptied and went
        return redirect(url_for("themes.index", consultation_id=consultation.id))
    return redirect(url_for("themes.theme", consultation_id=consultation.id, theme_id=theme_id))


@bp.get("/<int:consultation_id>/voices")
def public(consultation_id: int):
    """What others are saying: the themes of the opinions, for everyone, when staff allow it
    (and with the results)."""
    consultation = _load(consultation_id)
    run = operations.latest(consultation, finished=True)
    if not public_ops.visible(consultation) or run is None:
        abort(404)
    themes = public_ops.public_themes(consultation, run)
    return render_template(
        "themes/public.html",
        **_groups(run),
        consultation=consultation,
        run=run,
        themes=themes,
        points=operations.map_points(run, operations.themes_of(run)),
        palette=PALETTE,
        dispositions=DISPOSITIONS,
        published=consultation.results_published_at is not None,
    )


@bp.app_template_global("themes_link")
def themes_link(consultation) -> str | None:
    """The address of the residents' themes page, when there is one to see."""
    if not public_ops.visible(consultation) or operations.latest(consultation, True) is None:
        return None
    return url_for("themes.public", consultation_id=consultation.id)
