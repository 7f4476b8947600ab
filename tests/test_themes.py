"""Themes of a consultation: staff start a grouping, the jobs worker runs it, staff read it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.jobs import Job
from app.themes import operations as themes
from app.themes.models import Theme, ThemeMember, ThemeRun
from tests.conftest import create_open_consultation, post_form


@pytest.fixture
def consultation(voices_consultation):
    return voices_consultation


def page(client, consultation):
    return client.get(f"/consultations/{consultation.id}/themes")


def test_staff_group_the_opinions_in_the_background_and_read_the_themes(
    client, db, consultation, logged_in
):
    logged_in(Role.STAFF)
    path = f"/consultations/{consultation.id}/themes"
    assert "まだグループ分けしていません" in page(client, consultation).get_data(as_text=True)
    response = post_form(client, path, {"k": "4"}, page=path)
    assert response.status_code == 302
    run = db.session.scalar(select(ThemeRun))
    assert run.status == "queued" and run.requested_k == 4
    html = page(client, consultation).get_data(as_text=True)
    assert "<progress" in html and "0%" in html
    # a second start while one waits does not queue another
    post_form(client, path, {"k": ""}, page=path)
    assert db.session.scalar(select(func.count()).select_from(ThemeRun)) == 1

    assert jobs.run_pending() == 1
    db.session.expire_all()
    run = db.session.get(ThemeRun, run.id)
    assert run.status == "done" and run.progress == 100 and run.k == 4
    assert run.texts == len(themes.texts_of(consultation)) >= 80
    html = page(client, consultation).get_data(as_text=True)
    assert "4件のテーマ" in html and "<svg" in html and 'role="img"' in html
    top = themes.themes_of(run)
    assert len(top) == 4 and sum(t.size for t in top) == run.texts
    for theme in top:
        assert theme.label in html and theme.keywords
        assert 2 <= len(theme.children) <= 5 or theme.distinct < 12
    # the two copies of the phone text are one group, shown masked, never the number
    copies = [g for t in top for g in t.copies]
    assert any(len(g) == 2 for g in copies)
    assert "090-1234-5678" not in html and "2回" in html
    members = db.session.scalar(
        select(func.count()).select_from(ThemeMember).where(ThemeMember.run_id == run.id)
    )
    assert members == run.texts
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "themes.run"))


def test_ids_carry_over_to_the_next_grouping(db, consultation, make_user):
    staff = make_user(role=Role.STAFF)
    first = themes.request_run(consultation, staff, 5)
    db.session.commit()
    themes.execute(first.id)
    second = themes.request_run(consultation, staff, 5)
    db.session.commit()
    themes.execute(second.id)
    key_of = {}
    for run in (first, second):
        key_of[run.id] = dict(
            db.session.execute(
                select(ThemeMember.opinion_id, Theme.key)
                .join(Theme, Theme.id == ThemeMember.theme_id)
                .where(ThemeMember.run_id == run.id)
            ).all()
        )
    same = sum(key_of[first.id][o] == key_of[second.id][o] for o in key_of[first.id])
    assert same / len(key_of[first.id]) >= 0.9


@pytest.mark.parametrize(
    ("k", "message"), [("1", "2から10"), ("11", "2から10"), ("abc", "整数"), ("3.5", "整数")]
)
def test_a_bad_number_of_themes_is_refused_in_japanese(
    client, db, consultation, logged_in, k, message
):
    logged_in(Role.STAFF)
    path = f"/consultations/{consultation.id}/themes"
    response = post_form(client, path, {"k": k}, page=path)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_residents_cannot_see_or_start_a_grouping(client, db, consultation, logged_in):
    logged_in()
    path = f"/consultations/{consultation.id}/themes"
    assert client.get(path).status_code == 403
    assert post_form(client, path, {"k": "3"}, page="/").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ThemeRun)) == 0


def test_too_few_opinions_is_said_plainly(client, db, make_user, logged_in):
    staff = logged_in(Role.STAFF)
    empty = create_open_consultation(staff, title="意見のない案")
    run = themes.request_run(empty, staff)
    db.session.commit()
    assert themes.execute(run.id).status == "failed"
    html = page(client, empty).get_data(as_text=True)
    assert "グループ分けできるだけの意見がまだありません" in html


def test_the_cli_groups_with_progress(app, db, consultation):
    result = app.test_cli_runner().invoke(args=["koe", "cluster", str(consultation.id), "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "100%" in result.output and " 1. " in result.output
    missing = app.test_cli_runner().invoke(args=["koe", "cluster", "999999"])
    assert missing.exit_code != 0 and "no consultation" in missing.output


def test_the_web_process_never_loads_the_clustering_library():
    """Pages of themes render without scikit-learn or the word vectors in the process."""
    code = (
        "import sys\n"
        "from app import create_app\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'x'})\n"
        "import app.themes.routes, app.themes.operations, app.forms.routes, app.forms.grouping\n"
        "print(sorted(m for m in ('sklearn', 'analytics', 'spacy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_staff_answer_a_theme_from_the_review_page(client, db, consultation, logged_in):
    """The review page filters by theme (or finer theme) of the last grouping."""
    staff = logged_in(Role.STAFF)
    run = themes.request_run(consultation, staff, 3)
    db.session.commit()
    themes.execute(run.id)
    consultation.closes_at = consultation.opens_at  # closed: answers are written now
    db.session.commit()
    theme = themes.themes_of(run)[0]
    html = page(client, consultation).get_data(as_text=True)
    link = f"/consultations/{consultation.id}/review?theme={theme.id}&amp;show=all"
    assert link in html
    review = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'<option value="{theme.id}" selected>' in review
    members = set(
        db.session.scalars(select(ThemeMember.opinion_id).where(ThemeMember.theme_id == theme.id))
    )
    shown = {int(i) for i in re.findall(r'id="pick-(\d+)"', review)}
    assert shown == members or (len(shown) == 50 and shown < members)
    if theme.children:
        child = theme.children[0]
        review = client.get(
            f"/consultations/{consultation.id}/review",
            query_string={"theme": child.id, "show": "all"},
        ).get_data(as_text=True)
        shown = {int(i) for i in re.findall(r'id="pick-(\d+)"', review)}
        assert shown and len(shown) <= child.size and shown <= members
    # a theme of nothing, or not a number: every opinion, never an error
    for odd in ("999999", "abc", "１"):
        response = client.get(
            f"/consultations/{consultation.id}/review", query_string={"theme": odd}
        )
        assert response.status_code == 200


def test_one_view_for_a_whole_theme_then_one_opinion_otherwise(client, db, consultation, logged_in):
    from app.consultations.models import Disposition, Opinion

    staff = logged_in(Role.STAFF)
    run = themes.request_run(consultation, staff, 2)
    db.session.commit()
    themes.execute(run.id)
    consultation.closes_at = consultation.opens_at
    db.session.commit()
    theme = themes.themes_of(run)[0]
    assert theme.size > 20
    path = f"/consultations/{consultation.id}/review?theme={theme.id}&show=all"
    response = post_form(
        client,
        path,
        {
            "whole": "y",
            "answer": "new",
            "body": "ご意見を踏まえ、計画に反映します。",
            "disposition": "reflected",
            "reason": "多くのご意見をいただいたため。",
        },
        page=path,
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    rows = db.session.execute(
        select(ThemeMember.opinion_id, ThemeMember.core).where(ThemeMember.theme_id == theme.id)
    ).all()
    core = [i for i, in_core in rows if in_core]
    to_check = [i for i, in_core in rows if not in_core]
    assert core, "a theme of more than 20 opinions has a core"
    db.session.expire_all()
    answered = [db.session.get(Opinion, i) for i in core]
    assert all(o.disposition == Disposition.REFLECTED for o in answered)
    assert len({o.answer_id for o in answered}) == 1
    # a whole-theme answer never reaches an opinion outside the core without a staff tick
    assert all(db.session.get(Opinion, i).disposition is None for i in to_check)
    if to_check:
        html = client.get(path).get_data(as_text=True)
        assert "要確認" in html and "チェックを入れたときだけ回答されます" in html
        post_form(
            client,
            path,
            {
                "opinions": str(to_check[0]),
                "answer": str(answered[0].answer_id),
                "disposition": "reflected",
                "reason": "確認のうえ同じ考え方で回答します。",
            },
            page=path,
        )
        db.session.expire_all()
        assert db.session.get(Opinion, to_check[0]).answer_id == answered[0].answer_id
    # then one opinion of the theme is answered otherwise, on its own
    one = answered[0]
    post_form(
        client,
        path,
        {
            "opinions": str(one.id),
            "answer": "new",
            "body": "この点は対象外です。",
            "disposition": "out_of_scope",
            "reason": "計画の範囲外のため。",
        },
        page=path,
    )
    db.session.expire_all()
    assert db.session.get(Opinion, one.id).disposition == Disposition.OUT_OF_SCOPE
    assert db.session.get(Opinion, answered[1].id).disposition == Disposition.REFLECTED


def test_opinions_that_fit_no_theme_are_one_last_set_answered_one_by_one(
    client, db, make_user, logged_in
):
    from app.consultations import operations as consultation_ops
    from app.moderation import operations as moderation_ops

    staff = logged_in(Role.STAFF)
    consultation = create_open_consultation(staff)
    benches = ["公園のベンチを増やしてほしい", "公園にベンチがほしい", "公園のベンチが足りない"] * 4
    lone = "マイナンバーカードの暗証番号を忘れました"
    for text in [*(f"{t}{'。' * i}" for i, t in enumerate(benches)), lone]:
        scan = moderation_ops.scan_text(text, None, spam=False)
        consultation_ops.submit_opinion(consultation, make_user(), scan)
    db.session.commit()
    run = themes.request_run(consultation, staff, None, queue=False)
    db.session.commit()
    themes.execute(run.id)
    top = themes.themes_of(run)
    other = top[-1]
    assert other.other and other.key == themes.OTHER_KEY and other.size >= 1
    members = db.session.execute(
        select(ThemeMember.opinion_id, ThemeMember.core, ThemeMember.fit).where(
            ThemeMember.theme_id == other.id
        )
    ).all()
    assert lone in themes.public_texts([i for i, _, _ in members]).values()
    assert all(not core and fit is None for _, core, fit in members)
    html = page(client, consultation).get_data(as_text=True)
    assert "その他の意見" in html and "どのテーマにも当てはまらない意見です" in html
    consultation.closes_at = consultation.opens_at
    db.session.commit()
    review = client.get(
        f"/consultations/{consultation.id}/review", query_string={"theme": other.id}
    ).get_data(as_text=True)
    assert 'id="whole"' not in review  # never answered whole
    assert "要確認" in review
    # in English, its name is in English
    english = client.get(
        f"/consultations/{consultation.id}/themes", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "Other opinions" in english and "その他の意見" not in english
