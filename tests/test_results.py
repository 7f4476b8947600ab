"""After closing: the ward's view, dispositions, the final text, publishing, notifications."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

import moderation
from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.consultations import operations, results
from app.consultations.models import Answer, Disposition, Follow, Opinion, OpinionCopy, State
from app.extensions import db as _db
from app.moderation.models import ItemStatus
from app.notifications.models import Notification
from tests.conftest import create_open_consultation, login, post_form


@pytest.fixture
def consultation(db, make_user):
    return create_open_consultation(make_user(role=Role.STAFF))


def send(consultation, author, text, section=None):
    opinion, _ = operations.submit_opinion(
        consultation, author, moderation.scan(text), section=section
    )
    _db.session.commit()
    return opinion


def close(consultation):
    consultation.move(State.CLOSED)
    _db.session.commit()


def staff_client(app, make_user):
    staff = make_user(role=Role.STAFF)
    client = app.test_client()
    assert login(client, staff.email).status_code == 302
    return client, staff


def answer(client, consultation, ids, **fields):
    data = {
        "opinions": [str(i) for i in ids],
        "answer": "new",
        "summary": "",
        "body": "照明の増設は、通学路から順に進めます。",
        "disposition": "reflected",
        "reason": "ご意見を踏まえ、第3章に通学路を明記しました。",
    }
    data.update(fields)
    path = f"/consultations/{consultation.id}/review"
    return post_form(client, path, data, page=path)


def test_diff_marks_the_japanese_phrases_that_changed():
    parts = results.diff_text(
        "夜間も安心して通れるよう、照明を増やします。",
        "夜間も安心して通れるよう、通学路の照明をLEDで増やします。",
    )
    assert parts == [
        ("equal", "夜間も安心して通れるよう、"),
        ("delete", "照明を"),
        ("insert", "通学路の照明をLEDで"),
        ("equal", "増やします。"),
    ]
    english = results.diff_text("We add lights.", "We add brighter lights.")
    assert english == [("equal", "We add "), ("insert", "brighter "), ("equal", "lights.")]


@given(st.text(max_size=80), st.text(max_size=80))
def test_a_diff_gives_back_both_texts(before, after):
    parts = results.diff_text(before, after)
    assert "".join(t for kind, t in parts if kind != "insert") == before
    assert "".join(t for kind, t in parts if kind != "delete") == after


def test_the_whole_cycle(app, client, db, consultation, make_user, mailbox):
    hanako = make_user(display_name="区民 花子")
    taro = make_user(display_name="区民 太郎", email="taro@example.jp")
    taro.locale = "en"
    lights = consultation.sections[2]
    first = send(consultation, hanako, "通学路の照明を先に増やしてください。", section=lights)
    second = send(consultation, taro, "Please light the school routes first.", section=lights)
    third = send(consultation, taro, "公園の名前を募集してほしいです。")
    follower = make_user(email="follower@example.jp")
    _db.session.add(Follow(user_id=follower.id, consultation_id=consultation.id))
    _db.session.commit()
    close(consultation)
    staff, _staff_user = staff_client(app, make_user)

    review = staff.get(f"/consultations/{consultation.id}/review").get_data(as_text=True)
    assert "通学路の照明を先に増やしてください。" in review
    # two similar opinions answered together; the third on its own
    assert (
        answer(staff, consultation, [first.id, second.id], summary="通学路の照明").status_code
        == 302
    )
    assert (
        answer(
            staff,
            consultation,
            [third.id],
            body="名称は今後検討します。",
            disposition="future_reference",
            reason="この計画の範囲外ですが、今後の参考とします。",
        ).status_code
        == 302
    )
    _db.session.expire_all()
    numbers = {o.id: o.answer.number for o in _db.session.scalars(select(Opinion))}
    # the whole draft (third) comes before section 3 (first, second)
    assert numbers == {third.id: 1, first.id: 2, second.id: 2}

    final_path = f"/consultations/{consultation.id}/final"
    texts = [s.body for s in consultation.sections]
    texts[2] = "夜間も安心して通れるよう、通学路から順に照明を増やします。"
    data = {f"sections-{i}": text for i, text in enumerate(texts)}
    assert post_form(staff, final_path, data, page=final_path).status_code == 302
    _db.session.refresh(lights)
    assert lights.final_body == texts[2]
    assert consultation.sections[0].final_body is None  # unchanged sections keep the draft

    publish = post_form(
        staff, f"/consultations/{consultation.id}/publish", {"confirm": "yes"}, page=final_path
    )
    assert publish.status_code == 302 and publish.location.endswith("/results")
    _db.session.refresh(consultation)
    assert consultation.state == State.PUBLISHED and consultation.results_published_at
    assert not mailbox.to(hanako.email)  # the answers go as jobs, after the commit
    assert jobs.run_pending() == 4  # what the worker process does: 3 answers, 1 follower

    page = client.get(f"/consultations/{consultation.id}/results").get_data(as_text=True)
    assert "照明の増設は、通学路から順に進めます。" in page
    assert "通学路の照明" in page  # the group's summary
    assert "反映する" in page and "今後の参考とする" in page
    assert "<ins>" in page and "通学路から順に" in page
    assert page.index("名称は今後検討します。") < page.index("照明の増設は")  # No. 1 first

    # every submitter is told, in the site and by mail in their language, with a link to
    # their own line; the follower who sent nothing is told about the results
    kinds = {(n.user_id, n.kind) for n in _db.session.scalars(select(Notification))}
    assert kinds == {
        (hanako.id, "answer_published"),
        (taro.id, "answer_published"),
        (follower.id, "results_published"),
    }
    assert len(mailbox.to(taro.email)) == 2  # one per opinion
    mail = mailbox.last_to(hanako.email)
    body = mailbox.body(mail)
    assert first.receipt_code in mail["Subject"] and "反映する" in body
    link = re.search(r"https?://\S+/results/opinions/(\d+)", body)
    assert link and int(link.group(1)) == first.id
    assert "The ward answered your opinion" in mailbox.to(taro.email)[0]["Subject"]
    assert "/results" in mailbox.body(mailbox.last_to(follower.email))

    line = client.get(f"/consultations/{consultation.id}/results/opinions/{first.id}")
    assert line.status_code == 302 and line.location.endswith(f"page=1#opinion-{first.id}")

    # the receipt and My voice show the answer and the way to the change
    receipt = client.get(f"/consultations/receipts/{first.receipt_code}").get_data(as_text=True)
    assert "照明の増設は、通学路から順に進めます。" in receipt and f"#diff-{lights.id}" in receipt
    resident = app.test_client()
    login(resident, hanako.email)
    mine = resident.get("/consultations/my-voice").get_data(as_text=True)
    assert "最終案に反映" in mine and f"#diff-{lights.id}" in mine
    notes = resident.get("/notifications/").get_data(as_text=True)
    assert first.receipt_code in notes
    assert post_form(resident, "/notifications/read", {}, page="/notifications/").status_code == 302
    assert (
        _db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.read_at.is_(None))
        )
        == 3
    )  # taro has one per opinion; hanako read hers

    actions = set(_db.session.scalars(select(AuditEntry.action)))
    assert {"consultation.answer", "consultation.final_text", "consultation.state"} <= actions

    # published results are frozen
    assert answer(staff, consultation, [first.id], body="変更").status_code == 302
    _db.session.refresh(first)
    assert first.answer.body == "照明の増設は、通学路から順に進めます。"


def test_publishing_waits_for_moderation_and_answers(app, db, consultation, make_user):
    resident = make_user()
    held = send(consultation, resident, "詳しくは090-1234-5678までお電話ください。")
    plain = send(consultation, resident, "賛成です。")
    assert operations.item_of(held).status == ItemStatus.HELD
    close(consultation)
    staff, _ = staff_client(app, make_user)
    path = f"/consultations/{consultation.id}/publish"
    response = post_form(staff, path, {}, page=f"/consultations/{consultation.id}/review")
    assert response.status_code == 302
    page = staff.get(response.location).get_data(as_text=True)
    assert "1 件がモデレーション待ち" in page and "2 件に区の考え方" in page
    assert _db.session.get(type(consultation), consultation.id).state == State.CLOSED

    assert answer(staff, consultation, [held.id, plain.id]).status_code == 302
    state = results.readiness(consultation)
    assert state.held == 1 and state.without_answer == 0 and not state.ready


def test_answers_are_written_only_between_closing_and_publishing(app, db, consultation, make_user):
    opinion = send(consultation, make_user(), "賛成です。")
    staff, _ = staff_client(app, make_user)
    response = answer(staff, consultation, [opinion.id])
    assert response.status_code == 302
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_bad_answers_are_refused_and_kept(app, db, consultation, make_user):
    opinion = send(consultation, make_user(), "賛成です。")
    close(consultation)
    staff, _ = staff_client(app, make_user)
    nothing_ticked = answer(staff, consultation, [])
    assert nothing_ticked.status_code == 422
    assert "意見を1件以上選んでください" in nothing_ticked.get_data(as_text=True)
    no_reason = answer(staff, consultation, [opinion.id], reason=" \u200b ")
    assert no_reason.status_code == 422
    assert "区の考え方" in no_reason.get_data(as_text=True)
    no_view = answer(staff, consultation, [opinion.id], body="")
    assert no_view.status_code == 422
    too_long = answer(staff, consultation, [opinion.id], body="あ" * 8001)
    assert "1文字長すぎます" in too_long.get_data(as_text=True)
    assert "checked" in too_long.get_data(as_text=True)  # the ticks are kept
    bad_choice = answer(staff, consultation, [opinion.id], disposition="maybe")
    assert bad_choice.status_code == 422
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_opinions_and_answers_of_another_consultation_are_refused(app, db, make_user):
    staff_user = make_user(role=Role.STAFF)
    one = create_open_consultation(staff_user, title="一つ目")
    other = create_open_consultation(staff_user, title="二つ目")
    mine = send(one, make_user(), "賛成です。")
    foreign = send(other, make_user(), "反対です。")
    close(one)
    close(other)
    staff, _ = staff_client(app, make_user)
    refused = answer(staff, one, [mine.id, foreign.id])
    assert refused.status_code == 422
    assert "回答できません" in refused.get_data(as_text=True)
    assert _db.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert answer(staff, other, [foreign.id]).status_code == 302
    other_answer = _db.session.scalar(select(Answer))
    assert answer(staff, one, [mine.id], answer=str(other_answer.id)).status_code == 422
    assert staff.get(f"/consultations/{one.id}/answers/{other_answer.id}").status_code == 404
    _db.session.refresh(mine)
    assert mine.answer_id is None


def test_staff_only_and_results_hidden_until_published(app, client, db, consultation, make_user):
    close(consultation)
    resident = app.test_client()
    login(resident, make_user().email)
    for path in ("review", "final"):
        assert resident.get(f"/consultations/{consultation.id}/{path}").status_code == 403
    assert client.get(f"/consultations/{consultation.id}/results").status_code == 404
    assert resident.get(f"/consultations/{consultation.id}/results").status_code == 404
    staff, _ = staff_client(app, make_user)
    preview = staff.get(f"/consultations/{consultation.id}/results")
    assert preview.status_code == 200 and "プレビュー" in preview.get_data(as_text=True)


def test_follow_and_unfollow(app, db, consultation, make_user):
    user = make_user()
    resident = app.test_client()
    login(resident, user.email)
    path = f"/consultations/{consultation.id}"
    assert post_form(resident, f"{path}/follow", {"follow": "1"}, page=path).status_code == 302
    assert post_form(resident, f"{path}/follow", {"follow": "1"}, page=path).status_code == 302
    assert _db.session.scalar(select(func.count()).select_from(Follow)) == 1
    assert "フォローをやめる" in resident.get(path).get_data(as_text=True)
    assert post_form(resident, f"{path}/follow", {"follow": "0"}, page=path).status_code == 302
    assert _db.session.scalar(select(func.count()).select_from(Follow)) == 0


def test_state_route_cannot_skip_the_checks(app, db, consultation, make_user):
    close(consultation)
    staff, _ = staff_client(app, make_user)
    path = f"/consultations/{consultation.id}"
    post_form(staff, f"{path}/state", {"state": "published"}, page=path)
    _db.session.refresh(consultation)
    assert consultation.state == State.CLOSED


def test_result_pages_find_each_line(app, db, consultation, make_user):
    author = make_user()
    opinions = [
        send(consultation, author, f"意見その{i}です。") for i in range(results.ROWS_PER_PAGE + 3)
    ]
    close(consultation)
    staff_user = make_user(role=Role.STAFF)
    results.answer_opinions(
        consultation,
        staff_user,
        [o.id for o in opinions],
        disposition=Disposition.INCLUDED,
        reason="既に計画に含まれています。",
        body="既に盛り込んでいます。",
    )
    assert results.publish(consultation, staff_user) == 1
    _db.session.commit()
    assert results.line_page(consultation, opinions[0]) == 1
    assert results.line_page(consultation, opinions[-1]) == 2
    client = app.test_client()
    second = client.get(f"/consultations/{consultation.id}/results?page=2").get_data(as_text=True)
    assert f'id="opinion-{opinions[-1].id}"' in second


def test_a_rejected_opinion_is_told_to_its_author(app, db, consultation, make_user):
    from app.moderation import operations as moderation_ops

    author = make_user()
    held = send(consultation, author, "詳しくは090-1234-5678までお電話ください。")
    moderation_ops.reject(operations.item_of(held), make_user(role=Role.MODERATOR), "personal_data")
    _db.session.commit()
    resident = app.test_client()
    login(resident, author.email)
    assert 'お知らせ <span class="badge">1' in resident.get("/").get_data(as_text=True)
    page = resident.get("/notifications/").get_data(as_text=True)
    assert "意見は公開されませんでした（理由：個人情報）" in page
    assert 'href="/consultations/my-voice"' in page
    assert "090-1234-5678" not in page


def test_a_held_display_name_is_never_shown_with_an_opinion(app, client, db, consultation):
    from app.auth import operations as auth_ops
    from app.moderation import operations as moderation_ops

    author = auth_ops.create_user(
        "山本（090-1111-2222）", "yamamoto@example.jp", "x" * 12, Role.RESIDENT
    )
    moderation_ops.record(
        moderation_ops.DISPLAY_NAME,
        author.id,
        author,
        moderation_ops.scan_text(author.display_name, author, spam=False),
    )
    operations.submit_opinion(consultation, author, moderation.scan("賛成です。"), show_name=True)
    _db.session.commit()
    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "賛成です。" in page and "090-1111-2222" not in page and "山本" not in page


def test_the_same_opinion_sent_several_times_is_one_line_with_its_count(
    app, client, db, consultation, make_user
):
    """同趣旨: near-copies show once, with their count, on the consultation page and in the
    results table; each sender's link still leads to the line that holds their opinion."""
    from app.themes import operations as themes

    campaign = "駅前の駐輪場を増やしてください。朝はいつも満車で停められません。"
    copies = [
        send(consultation, make_user(), text)
        for text in (
            campaign,
            campaign + "！",
            "駅前の駐輪場を増やしてください。朝はいつも満車で停められません",
        )
    ]
    other = send(consultation, make_user(), "公園のトイレをきれいにしてほしいです。")
    themes.find_new_copies()  # the worker's housekeeping
    _db.session.expire_all()
    first = copies[0]
    copy_of = dict(
        _db.session.execute(select(OpinionCopy.opinion_id, OpinionCopy.copy_of_id)).all()
    )
    assert copy_of == {
        first.id: None,
        copies[1].id: first.id,
        copies[2].id: first.id,
        other.id: None,
    }
    html = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert html.count("朝はいつも満車で停められません") == 1
    assert "同趣旨のご意見がほかに2件あります。" in html
    assert "公園のトイレをきれいにしてほしいです。" in html
    english = client.get(
        f"/consultations/{consultation.id}", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)
    assert "2 more opinions say the same." in english

    close(consultation)
    staff, staff_user = staff_client(app, make_user)
    # two copies get the same answer; the third is answered otherwise, so it keeps its line
    assert answer(staff, consultation, [copies[0].id, copies[1].id, other.id]).status_code == 302
    assert (
        answer(
            staff,
            consultation,
            [copies[2].id],
            body="駐輪場の増設は来年度に検討します。",
            disposition="future_reference",
            reason="予算の都合で今年度は見送ります。",
        ).status_code
        == 302
    )
    _db.session.expire_all()
    results.publish(_db.session.get(type(consultation), consultation.id), staff_user)
    _db.session.commit()
    table = client.get(f"/consultations/{consultation.id}/results").get_data(as_text=True)
    assert table.count("朝はいつも満車で停められません") == 2  # the pair, and the third
    assert "同趣旨のご意見がほかに1件あります。" in table
    # the second sender's link leads to the first's line, which stands for both
    line = client.get(f"/consultations/{consultation.id}/results/opinions/{copies[1].id}")
    assert line.status_code == 302 and line.location.endswith(f"#opinion-{first.id}")
    line = client.get(f"/consultations/{consultation.id}/results/opinions/{copies[2].id}")
    assert line.location.endswith(f"#opinion-{copies[2].id}")
    # open data keeps every opinion
    data = client.get(f"/api/v1/consultations/{consultation.id}/results").get_json()
    listed = [o for a in data["answers"] for o in a["opinions"]]
    assert len(listed) == 4
