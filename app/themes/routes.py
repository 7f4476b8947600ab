"""Staff pages of the themes of a consultation."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role
from app.auth.permissions import role_required
from app.consultations.routes import _load
from app.extensions import db
from app.themes import bp, operations
from app.themes.forms import RunForm
from app.themes.models import ThemeMember

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
MAP_POINTS = 2000  # at most this many dots (a sample of each theme), the table has them all


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
    points = []
    if done:
        number = {t.id: n for n, t in enumerate(themes, start=1)}
        step = max(1, done.texts // MAP_POINTS)  # every step-th opinion, chosen in the database
        sample = db.session.execute(
            select(ThemeMember.x, ThemeMember.y, ThemeMember.theme_id).where(
                ThemeMember.run_id == done.id, ThemeMember.id % step == 0
            )
        )
        points = [(x, y, number[theme_id]) for x, y, theme_id in sample]
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
        ),
        status,
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
