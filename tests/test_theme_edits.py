"""Staff edit the themes (rename and pin, merge, split, move), new opinions are placed at once,
residents see the themes, and earlier answers are suggested."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.consultations import operations as consultation_ops
from app.consultations import results
from app.consultations.models import Consultation, Disposition, Opinion, ReactionKind
from app.extensions import db as database
from app.jobs import Job
from app.moderation import operations as moderation_ops
from app.moderation.models import BlockedWord
from app.themes import editing
from app.themes import operations as themes
from app.themes.models import Theme, ThemeMember, ThemeRun
from tests.analytics.test_quality import rows
from tests.conftest import PHONE_TEXT, create_open_consultation, login, post_form


def grouped(consultation, staff, k: int | None = None) -> ThemeRun:
    run = themes.request_run(consultation, staff, k, queue=False)
    database.session.commit()
    return themes.execute(run.id)


def members_of(theme_id: int) -> set[int]:
    query = select(ThemeMember.opinion_id).where(ThemeMember.theme_id == theme_id)
    return set(database.session.scalars(query))


def actions() -> list[str]:
    return list(database.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def logout(client) -> None:
    assert post_form(client, "/auth/logout", {}).status_code == 302


def test_staff_rename_a_theme_and_the_next_grouping_keeps_a_pinned_name(
    client, db, voices_consultation, logged_in
):
    staff = logged_in(Role.STAFF)
    run = grouped(voices_consultation, staff, 4)
    theme = themes.themes_of(run)[0]
    base = f"/consultations/{voices_consultation.id}/themes/{theme.id}"
    html = client.get(base).get_data(as_text=True)
    assert theme.label in html and "名前を保存" in html
    response = post_form(
        client, f"{base}/rename", {"label": "  ごみ出しの\u3000ルール ", "pinned": "y"}, page=base
    )
    assert response.status_code == 302
    db.session.expire_all()
    theme = db.session.get(Theme, theme.id)
    assert theme.label == "ごみ出しの ルール" and theme.pinned
    assert "themes.rename" in actions()
    # the next grouping gives the theme of the same key the name staff kept
    again = grouped(voices_consultation, staff, 4)
    kept = [t for t in themes.themes_of(again) if t.key == theme.key]
    assert kept and kept[0].label == "ごみ出しの ルール" and kept[0].pinned
    assert all(not t.pinned for t in themes.themes_of(again) if t.key != theme.key)


@pytest.mark.parametrize(
    ("label", "message"),
    [("", "入力してください"), ("\u200b \u3000", "入力してください"), ("あ" * 201, "1文字")],
)
def test_a_bad_theme_name_is_refused_in_japanese(
    client, db, voices_consultation, logged_in, label, message
):
    staff = logged_in(Role.STAFF)
    run = grouped(voices_consultation, staff, 3)
    theme = themes.themes_of(run)[0]
    base = f"/consultations/{voices_consultation.id}/themes/{theme.id}"
    response = post_form(client, f"{base}/rename", {"label": label}, page=base)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).label == theme.label


def test_a_theme_name_is_shown_escaped(client, db, voices_consultation, logged_in):
    staff = logged_in(Role.STAFF)
    run = grouped(voices_consultation, staff, 3)
    theme = themes.themes_of(run)[0]
    base = f"/consultations/{voices_consultation.id}/themes/{theme.id}"
    post_form(client, f"{base}/rename", {"label": "<script>alert(1)</script>"}, page=base)
    html = client.get(f"/consultations/{voices_consultation.id}/themes").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_merge_then_split_then_move_keeps_every_opinion_counted(
    client, db, voices_consultation, logged_in
):
    staff = logged_in(Role.STAFF)
    run = grouped(voices_consultation, staff, 4)
    total = run.texts
    a, b = themes.themes_of(run)[:2]
    a_id, b_id, a_size, b_size = a.id, b.id, a.size, b.size
    b_members = members_of(b_id)
    path = f"/consultations/{voices_consultation.id}/themes"
    asked = post_form(client, f"{path}/{b_id}/merge", {"into": str(a_id)}, page=path)
    assert asked.status_code == 200 and "元に戻せません" in asked.get_data(as_text=True)
    assert db.session.get(Theme, b_id) is not None  # asked first: nothing merged yet
    response = post_form(
        client, f"{path}/{b_id}/merge", {"into": str(a_id), "confirm": "yes"}, page=path
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Theme, b_id) is None
    a = db.session.get(Theme, a_id)
    assert a.size == a_size + b_size and b_members <= members_of(a_id)
    assert sum(t.size for t in themes.themes_of(run)) == total

    # split the merged theme into its finer themes
    parts = [c.id for c in a.children]
    assert len(parts) >= 2
    response = post_form(client, f"{path}/{a_id}/split", {}, page=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Theme, a_id) is None
    top = themes.themes_of(db.session.get(ThemeRun, run.id))
    assert set(parts) <= {t.id for t in top}
    assert sum(t.size for t in top) == total
    assert len({t.key for t in top}) == len(top)
    for theme in top:
        assert len(members_of(theme.id)) == theme.size

    # move two opinions of the smallest theme to the largest
    largest, smallest = top[0], top[-1]
    moving = sorted(members_of(smallest.id))[:2]
    page = f"{path}/{smallest.id}"
    html = client.get(page).get_data(as_text=True)
    assert all(f'id="pick-{i}"' in html for i in moving)
    response = post_form(
        client,
        f"{page}/move",
        {"opinions": [str(i) for i in moving], "target": str(largest.id)},
        page=page,
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert set(moving) <= members_of(largest.id)
    assert sum(t.size for t in themes.themes_of(db.session.get(ThemeRun, run.id))) == total
    for action in ("themes.merge", "themes.split", "themes.move"):
        assert action in actions()


def test_the_next_grouping_keeps_moved_opinions_where_staff_put_them(
    db, voices_consultation, make_user
):
    staff = make_user(role=Role.STAFF)
    run = grouped(voices_consultation, staff, 4)
    source, target = themes.themes_of(run)[-1], themes.themes_of(run)[0]
    moving = sorted(members_of(source.id))[:3]
    assert editing.move(run, moving, target, staff) == len(moving)
    db.session.commit()
    again = grouped(voices_consultation, staff, 4)
    assert target.key in {t.key for t in themes.themes_of(again)}
    now = dict(
        db.session.execute(
            select(ThemeMember.opinion_id, Theme.key)
            .join(Theme, Theme.id == ThemeMember.theme_id)
            .where(ThemeMember.run_id == again.id, ThemeMember.opinion_id.in_(moving))
        ).all()
    )
    assert now == dict.fromkeys(moving, target.key)
    moved = db.session.scalars(
        select(ThemeMember).where(ThemeMember.run_id == again.id, ThemeMember.moved.is_(True))
    ).all()
    assert sorted(m.opinion_id for m in moved) == moving
    assert sum(t.size for t in themes.themes_of(again)) == again.texts
    for theme in themes.themes_of(again):
        assert len(members_of(theme.id)) == theme.size


def test_bad_edits_are_refused_and_change_nothing(
    client, db, voices_consultation, logged_in, make_user
):
    staff = logged_in(Role.STAFF)
    run = grouped(voices_consultation, staff, 3)
    a, b = themes.themes_of(run)[:2]
    path = f"/consultations/{voices_consultation.id}/themes"
    # merging into itself or into a theme of another grouping: not a choice
    for into in (str(a.id), "999999", "abc"):
        response = post_form(client, f"{path}/{a.id}/merge", {"into": into}, page=path)
        assert response.status_code == 422 and "一覧から選んでください" in response.get_data(
            as_text=True
        )
    # nothing ticked
    response = post_form(client, f"{path}/{a.id}/move", {"target": str(b.id)}, page=path)
    assert response.status_code == 422
    # a theme of another consultation is not found here
    other = create_open_consultation(staff, title="別の案")
    db.session.commit()
    response = post_form(
        client, f"/consultations/{other.id}/themes/{a.id}/rename", {"label": "x"}, page=path
    )
    assert response.status_code == 404
    # a finer theme is edited through its theme
    if a.children:
        assert client.get(f"{path}/{a.children[0].id}").status_code == 404
    db.session.expire_all()
    assert sum(t.size for t in themes.themes_of(run)) == run.texts
    assert not {"themes.merge", "themes.move", "themes.rename"} & set(actions())


def test_residents_cannot_edit_themes_and_published_themes_are_frozen(
    client, db, voices_consultation, logged_in, make_user
):
    staff = make_user(role=Role.STAFF)
    run = grouped(voices_consultation, staff, 3)
    theme = themes.themes_of(run)[0]
    base = f"/consultations/{voices_consultation.id}/themes/{theme.id}"
    logged_in()
    assert client.get(base).status_code == 403
    assert post_form(client, f"{base}/rename", {"label": "x"}, page="/").status_code == 403
    logout(client)
    logged_in(Role.STAFF)
    stored = database.session.get(Consultation, voices_consultation.id)
    stored.results_published_at = stored.opens_at
    db.session.commit()
    response = post_form(client, f"{base}/rename", {"label": "新しい名前"}, page=base)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Theme, theme.id).label == theme.label
    assert "変更できません" in client.get(base).get_data(as_text=True)


def test_new_opinions_are_placed_into_the_last_grouping_at_once(
    client, db, voices_consultation, make_user, logged_in
):
    resident = make_user()
    text = "公園のごみ箱を増やして、ごみの持ち帰りも呼びかけてください。"
    # without a grouping nothing is queued for placing
    consultation_ops.submit_opinion(voices_consultation, resident, moderation_ops.scan_text(text))
    db.session.commit()
    assert not db.session.scalar(select(Job).where(Job.kind == "place_opinions"))
    staff = logged_in(Role.STAFF)
    run = grouped(voices_consultation, staff, 4)
    sizes = {t.id: t.size for t in themes.themes_of(run)}
    opinion, _ = consultation_ops.submit_opinion(
        voices_consultation, resident, moderation_ops.scan_text(text + "夜も明るく。")
    )
    db.session.commit()
    assert db.session.scalar(select(Job).where(Job.kind == "place_opinions"))
    jobs.run_pending()
    db.session.expire_all()
    member = db.session.scalar(select(ThemeMember).where(ThemeMember.opinion_id == opinion.id))
    assert member is not None and member.placed and member.run_id == run.id
    assert -1 <= member.x <= 1 and -1 <= member.y <= 1
    theme = db.session.get(Theme, member.theme_id)
    assert theme.size == sizes[theme.id] + 1
    # its neighbours on the map say much the same: the nearest theme is about parks and litter
    assert db.session.scalar(select(func.count()).select_from(ThemeMember)) == run.texts + 1
    html = client.get(f"/consultations/{voices_consultation.id}/themes").get_data(as_text=True)
    assert "届いた1件の意見" in html
    # a model that does not match the app's secret is never unpickled
    stored = db.session.get(ThemeRun, run.id)
    stored.model = b"0" * 32 + stored.model[32:]
    db.session.commit()
    themes._cached_model.cache_clear()
    consultation_ops.submit_opinion(voices_consultation, resident, moderation_ops.scan_text(text))
    db.session.commit()
    assert themes.place_new(voices_consultation) == 0


def test_residents_see_the_themes_only_when_allowed_and_only_published_text(
    client, db, voices_consultation, make_user, logged_in
):
    staff = make_user(role=Role.STAFF)
    run = grouped(voices_consultation, staff, 4)
    public = f"/consultations/{voices_consultation.id}/voices"
    assert client.get(public).status_code == 404
    show = client.get(f"/consultations/{voices_consultation.id}").get_data(as_text=True)
    assert public not in show
    # a keyword on the blocked-word list never reaches residents
    top = themes.themes_of(run)
    hidden = top[0].keywords[0]
    db.session.add(BlockedWord(word=hidden, severity="hold"))
    db.session.commit()
    logged_in(Role.STAFF)
    page = f"/consultations/{voices_consultation.id}/themes"
    response = post_form(client, f"{page}/public", {"themes_public": "y"}, page=page)
    assert response.status_code == 302
    assert "themes.public" in actions()
    logout(client)
    author = db.session.scalar(
        select(Opinion).where(Opinion.consultation_id == voices_consultation.id).limit(1)
    ).author
    assert login(client, author.email).status_code == 302
    html = client.get(public).get_data(as_text=True)
    assert "他の人の意見" in html and "<svg" in html
    assert PHONE_TEXT[:12] not in html and "090-1234" not in html  # held: never quoted
    quoted = re.findall(r'<p class="pre">([^<]*)</p>', html)
    assert quoted
    texts = themes.public_texts(
        list(db.session.scalars(select(Opinion.id).where(Opinion.listed.is_(True))))
    )
    assert all(any(q.rstrip(".…") in t for t in texts.values()) for q in quoted)
    # each theme's one-line summary, when shown, is a sentence of a published opinion
    summaries = re.findall(r'<p class="summary">[^「]*「([^」]*)」</p>', html)
    assert summaries
    flat = [" ".join(t.split()) for t in texts.values()]
    assert all(any(s.removesuffix("…") in t for t in flat) for s in summaries)
    first = re.search(r'id="theme-\d+-heading">1\. ([^<]*)<', html).group(1)
    assert hidden not in first
    assert public in client.get(f"/consultations/{voices_consultation.id}").get_data(as_text=True)
    # "My voice" names the theme of each of the author's opinions, linked to it
    mine = client.get("/consultations/my-voice").get_data(as_text=True)
    assert f"{public}#theme-" in mine and "テーマ" in mine
    # staff take it back: residents see nothing again
    db.session.expire_all()  # the page's request set it in another session
    database.session.get(Consultation, voices_consultation.id).themes_public = False
    db.session.commit()
    assert client.get(public).status_code == 404
    assert f"{public}#theme-" not in client.get("/consultations/my-voice").get_data(as_text=True)


def _published_earlier(staff, make_user) -> tuple[object, int]:
    """A consultation with results: opinions about litter answered with one view."""
    earlier = create_open_consultation(staff, title="前回の計画（案）")
    texts, _ = rows("resident-voices/voices.tsv", "\t")
    resident = make_user()
    ids = []
    # 60 other opinions, and ten that say the same as opinions of the new consultation
    for text in [*texts[100:160], *(f"{t}！" for t in texts[:10])]:
        scan = moderation_ops.scan_text(text, None, spam=False)
        if scan.verdict == "publish":
            ids.append(consultation_ops.submit_opinion(earlier, resident, scan)[0].id)
    database.session.commit()
    earlier.closes_at = earlier.opens_at
    database.session.commit()
    answer = results.answer_opinions(
        earlier,
        staff,
        ids,
        disposition=Disposition.FUTURE,
        reason="今後の検討に生かします。",
        body="いただいたご意見は、今後の施策の参考とさせていただきます。",
    )
    results.publish(earlier, staff)
    database.session.commit()
    return earlier, answer.id


def test_staff_see_how_the_ward_answered_much_the_same_before(
    client, db, voices_consultation, make_user, logged_in
):
    staff = logged_in(Role.STAFF)
    earlier, answer_id = _published_earlier(staff, make_user)
    run = grouped(voices_consultation, staff, 4)
    with_similar = [t for t in themes.themes_of(run) if t.similar]
    assert with_similar
    # only what says the same as an opinion of the theme's core: never one of the 60 others
    for theme in with_similar:
        core = db.session.scalars(
            select(ThemeMember.opinion_id).where(
                ThemeMember.theme_id == theme.id, ThemeMember.core.is_(True)
            )
        ).all()
        said = set(themes.public_texts(list(core)).values())
        for earlier_text in themes.public_texts(theme.similar).values():
            assert earlier_text.endswith("！") and earlier_text[:-1] in said
    theme = with_similar[0]
    found = db.session.scalars(select(Opinion).where(Opinion.id.in_(theme.similar))).all()
    assert found and all(o.consultation_id == earlier.id for o in found)
    voices_consultation.closes_at = voices_consultation.opens_at
    db.session.commit()
    review = f"/consultations/{voices_consultation.id}/review"
    html = client.get(review, query_string={"theme": theme.id}).get_data(as_text=True)
    assert "以前の似た意見への区の考え方" in html and "前回の計画（案）" in html
    draft = client.get(review, query_string={"theme": theme.id, "draft": answer_id})
    body = "いただいたご意見は、今後の施策の参考とさせていただきます。"
    assert f"{body}</textarea>" in draft.get_data(as_text=True)
    # a view of this consultation, or of one not published, is not offered as a draft
    own = results.answer_opinions(
        voices_consultation,
        staff,
        [min(members_of(theme.id))],
        disposition=Disposition.FUTURE,
        reason="理由",
        body="この案の考え方",
    )
    db.session.commit()
    html = client.get(review, query_string={"draft": own.id}).get_data(as_text=True)
    assert "この案の考え方</textarea>" not in html
    for odd in ("999999", "abc"):
        assert client.get(review, query_string={"draft": odd}).status_code == 200


def test_groups_of_people_by_their_reactions_are_shown_without_anyone_in_them(
    client, db, voices_consultation, make_user
):
    """Two camps of residents react to the published opinions: the grouping finds them, says
    what each agrees with more than the other and what both agree with, and names nobody."""
    staff = make_user(role=Role.STAFF)
    listed = db.session.scalars(
        select(Opinion)
        .where(Opinion.consultation_id == voices_consultation.id, Opinion.listed.is_(True))
        .order_by(Opinion.id)
        .limit(12)
    ).all()
    camp_a, camp_b, shared = listed[:5], listed[5:10], listed[10:12]
    people = [make_user(display_name=f"反応{n}") for n in range(16)]
    for n, person in enumerate(people):
        mine, theirs = (camp_a, camp_b) if n % 2 == 0 else (camp_b, camp_a)
        for opinion in mine + shared:
            consultation_ops.react(opinion, person, ReactionKind.AGREE)
        for opinion in theirs:
            consultation_ops.react(opinion, person, ReactionKind.DISAGREE)
    db.session.commit()
    run = grouped(voices_consultation, staff, 3)
    found = run.opinion_groups
    assert found["people"] == 16 and [g["size"] for g in found["groups"]] == [8, 8]
    for group in found["groups"]:
        ids = {s["opinion"] for s in group["statements"] if s["stance"] == "agree"}
        assert ids and (ids <= {o.id for o in camp_a} or ids <= {o.id for o in camp_b})
    assert {c["opinion"] for c in found["consensus"][:2]} == {o.id for o in shared}
    database.session.get(Consultation, voices_consultation.id).themes_public = True
    db.session.commit()
    html = client.get(f"/consultations/{voices_consultation.id}/voices").get_data(as_text=True)
    assert "反応による意見のグループ" in html and "グループA（8人）" in html
    assert "どのグループも賛成している意見" in html
    assert "反応0" not in html and "反応1" not in html  # nobody is named
    # too few people: no groups at all
    assert themes.opinion_groups_of(create_open_consultation(staff, title="空の案")) is None
