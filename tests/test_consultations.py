"""Consultations, first step: staff publish a draft; residents read, search and send opinions."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.consultations import operations
from app.consultations.models import Consultation, IllegalMove, Opinion, Reaction, State
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus, ModerationItem
from app.timeutil import TOKYO, as_utc, utcnow
from tests.conftest import create_open_consultation, csrf_token, login, post_form

DRAFT = """# 第1章 総則
この計画は、声区の公園をより使いやすくするためのものです。

# 第2章 遊具の更新
老朽化した遊具を、令和9年度までに順次更新します。

# 第3章 夜間の照明
夜間も安心して通れるよう、照明を増やします。"""


def tokyo(dt):
    return dt.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


def form_data(**overrides):
    now = utcnow()
    data = {
        "title": "声区公園整備計画（案）",
        "summary": "区内の公園整備の方針について、ご意見を募集します。",
        "department": "都市整備部 公園課",
        "contact": "電話 03-0000-0000（公園課）",
        "topics": "公園, 子育て",
        "area": "",
        "opens_at": tokyo(now - timedelta(days=1)),
        "closes_at": tokyo(now + timedelta(days=30)),
        "draft": DRAFT,
    }
    data.update(overrides)
    return data


@pytest.fixture
def open_consultation(db, make_user):
    """An open consultation with three sections, made through the operations."""
    return create_open_consultation(make_user(role=Role.STAFF), draft=DRAFT)


def test_parse_draft_into_sections():
    sections = operations.parse_draft(DRAFT)
    assert [h for h, _ in sections] == ["第1章 総則", "第2章 遊具の更新", "第3章 夜間の照明"]
    assert sections[1][1] == "老朽化した遊具を、令和9年度までに順次更新します。"
    assert operations.parse_draft("＃ 全角の見出し\n本文") == [("全角の見出し", "本文")]
    assert operations.parse_draft("見出しなし") == [("", "見出しなし")]


def test_staff_create_edit_and_open(client, db, logged_in):
    logged_in(Role.STAFF)
    response = post_form(client, "/consultations/new", form_data(), page="/consultations/new")
    assert response.status_code == 302
    consultation = db.session.scalar(select(Consultation))
    assert consultation.state == State.DRAFT and len(consultation.sections) == 3
    path = f"/consultations/{consultation.id}/edit"
    assert "# 第2章 遊具の更新" in client.get(path).get_data(as_text=True)
    post_form(client, path, form_data(title="改めた題名"), page=path)
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).title == "改めた題名"
    post_form(
        client, f"/consultations/{consultation.id}/state", {"state": "open", "confirm": "yes"}
    )
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).state == State.OPEN
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"consultation.create", "consultation.update", "consultation.state"} <= actions


def test_staff_form_errors_in_japanese(client, db, logged_in):
    logged_in(Role.STAFF)
    bad = form_data(title="", opens_at="あした", closes_at=tokyo(utcnow() - timedelta(days=9)))
    html = post_form(client, "/consultations/new", bad, page="/consultations/new").get_data(
        as_text=True
    )
    assert "2026-12-01 09:00 のように" in html and "題名を入力してください" in html
    assert db.session.scalar(select(Consultation)) is None


def test_only_staff_manage(client, logged_in):
    logged_in()
    assert client.get("/consultations/new").status_code == 403


def test_illegal_moves_are_refused(db, open_consultation, make_user):
    staff = make_user(role=Role.STAFF)
    with pytest.raises(IllegalMove):
        operations.move(open_consultation, State.PUBLISHED, staff)
    operations.move(open_consultation, State.CLOSED, staff)
    with pytest.raises(IllegalMove):
        operations.move(open_consultation, State.OPEN, staff)


def test_it_closes_by_itself_on_time(db, open_consultation):
    assert open_consultation.accepts_opinions()
    later = open_consultation.closes_at + timedelta(seconds=1)
    assert open_consultation.current_state(later) == State.CLOSED
    assert not open_consultation.accepts_opinions(later)


def buttons(html: str) -> list[str]:
    return [b.strip() for b in re.findall(r"<button[^>]*>([^<]*)</button>", html)]


def test_a_started_consultation_opens_by_itself_at_its_opening_time(
    client, db, logged_in, make_user, monkeypatch
):
    logged_in(Role.STAFF)
    opens = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    data = form_data(opens_at=tokyo(opens))
    post_form(client, "/consultations/new", data, page="/consultations/new")
    consultation = db.session.scalar(select(Consultation))
    page = f"/consultations/{consultation.id}"
    html = client.get(page).get_data(as_text=True)
    # verbs, never the name of a state
    assert "意見募集中" not in buttons(html)
    assert "今すぐ意見募集を始める" in buttons(html)
    start = [b for b in buttons(html) if b.endswith("に意見募集を始める") and "今すぐ" not in b]
    assert len(start) == 1 and tokyo_text(opens) in start[0], buttons(html)
    response = post_form(
        client, f"{page}/state", {"state": "open"}, page=page, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "自動で意見募集を始めます" in html and "募集開始前" in html
    assert {"今すぐ意見募集を始める", "下書きに戻す"} <= set(buttons(html))
    assert "今すぐ意見募集を終える" not in buttons(html)
    post_form(client, "/auth/logout", {})
    resident = make_user()
    login(client, resident.email)
    html = client.get(page).get_data(as_text=True)
    assert "募集開始前" in html and 'id="opinion-form"' not in html
    assert "受け付けていません" in send(client, consultation, "早く始めてください。").get_data(
        as_text=True
    )
    # at the opening time it takes opinions, as it stops at its closing time: nobody presses
    later = opens + timedelta(minutes=1)
    for module in ("app.consultations.models", "app.consultations.routes"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: later)
    html = client.get(page).get_data(as_text=True)
    assert "意見募集中" in html and 'id="opinion-form"' in html
    assert send(client, consultation, "照明を増やしてください。").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Opinion)) == 1


def tokyo_text(moment) -> str:
    """The time as the pages show it, in Japanese."""
    from flask import current_app

    from app.i18n import tokyo_datetime

    with current_app.test_request_context("/", headers={"Accept-Language": "ja"}):
        return tokyo_datetime(moment)


def test_staff_start_now_or_take_a_waiting_consultation_back(client, db, logged_in):
    logged_in(Role.STAFF)
    opens = utcnow() + timedelta(days=2)
    post_form(
        client, "/consultations/new", form_data(opens_at=tokyo(opens)), page="/consultations/new"
    )
    consultation = db.session.scalar(select(Consultation))
    page, state = f"/consultations/{consultation.id}", f"/consultations/{consultation.id}/state"
    post_form(client, state, {"state": "open"}, page=page)
    post_form(client, state, {"state": "draft"}, page=page)
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).state == State.DRAFT
    assert client.application.test_client().get(page).status_code == 404  # hidden again
    before = utcnow()
    asked = post_form(client, state, {"state": "open", "when": "now"}, page=page)
    assert asked.status_code == 200 and 'name="confirm"' in asked.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).state == State.DRAFT  # asked first
    html = post_form(
        client,
        state,
        {"state": "open", "when": "now", "confirm": "yes"},
        page=page,
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "意見募集を始めました" in html or "受け付けます" in html
    db.session.expire_all()
    started = db.session.get(Consultation, consultation.id)
    assert started.accepts_opinions() and as_utc(started.opens_at) >= before.replace(microsecond=0)
    # an open consultation cannot go back to draft: opinions may have come
    post_form(client, state, {"state": "draft"}, page=page)
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).state == State.OPEN
    assert "今すぐ意見募集を終える" in buttons(client.get(page).get_data(as_text=True))


def test_a_draft_past_its_opening_time_says_so(client, db, logged_in):
    logged_in(Role.STAFF)
    post_form(client, "/consultations/new", form_data(), page="/consultations/new")
    page = f"/consultations/{db.session.scalar(select(Consultation.id))}"
    html = client.get(page).get_data(as_text=True)
    assert buttons(html).count("今すぐ意見募集を始める") == 1
    assert not [b for b in buttons(html) if b.endswith("に意見募集を始める") and "今すぐ" not in b]


def test_editing_an_open_consultation_saves_what_can_change_and_shows_the_rest(
    client, db, logged_in, open_consultation
):
    logged_in(Role.STAFF)
    path = f"/consultations/{open_consultation.id}/edit"
    html = client.get(path).get_data(as_text=True)
    # the draft and the opening time are shown, not offered as fields whose edits are lost
    assert 'name="draft"' not in html and 'name="opens_at"' not in html
    assert "老朽化した遊具を" in html and 'name="closes_at"' in html
    later = utcnow() + timedelta(days=40)
    data = form_data(title="改めた題名", closes_at=tokyo(later))
    del data["opens_at"]
    data["draft"] = "# 第1章 書き換え\n送られても変わらない本文"
    response = post_form(client, path, data, page=path, follow_redirects=True)
    assert "保存しました" in response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(Consultation, open_consultation.id)
    assert saved.title == "改めた題名" and tokyo(saved.closes_at) == tokyo(later)
    assert [s.heading for s in saved.sections] == [
        "第1章 総則",
        "第2章 遊具の更新",
        "第3章 夜間の照明",
    ]
    # a closing time in the past would close it unseen: the button does that
    data["closes_at"] = tokyo(utcnow() - timedelta(minutes=5))
    response = post_form(client, path, data, page=path)
    assert response.status_code == 422
    assert "締切日時は、現在より後にしてください" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Consultation, open_consultation.id).accepts_opinions()


def test_a_closed_consultation_keeps_its_period(client, db, logged_in, open_consultation):
    staff = logged_in(Role.STAFF)
    operations.move(open_consultation, State.CLOSED, staff)
    db.session.commit()
    path = f"/consultations/{open_consultation.id}/edit"
    html = client.get(path).get_data(as_text=True)
    assert 'name="closes_at"' not in html and 'name="opens_at"' not in html
    # a later closing time would have reopened it; the operation refuses it too
    data = form_data(title="題名だけ変える", closes_at=tokyo(utcnow() + timedelta(days=9)))
    assert post_form(client, path, data, page=path).status_code == 302
    db.session.expire_all()
    saved = db.session.get(Consultation, open_consultation.id)
    assert saved.title == "題名だけ変える" and saved.current_state() == State.CLOSED
    with pytest.raises(IllegalMove):
        operations.save_consultation(
            saved,
            operations.ConsultationData(
                title="x",
                summary="x",
                department="x",
                contact="x",
                topics="",
                area=None,
                opens_at=None,
                closes_at=utcnow() + timedelta(days=9),
                draft=None,
            ),
            staff,
        )


def test_drafts_are_hidden_from_residents(client, db, make_user, logged_in):
    logged_in(Role.STAFF)
    post_form(client, "/consultations/new", form_data(), page="/consultations/new")
    consultation_id = db.session.scalar(select(Consultation.id))
    resident = client.application.test_client()
    assert resident.get(f"/consultations/{consultation_id}").status_code == 404
    assert "声区公園整備計画" not in resident.get("/consultations/").get_data(as_text=True)


@pytest.mark.parametrize(("term", "found"), [("遊具", True), ("照明", True), ("図書館", False)])
def test_japanese_search_finds_words_inside_text(client, open_consultation, term, found):
    html = client.get("/consultations/", query_string={"q": term}).get_data(as_text=True)
    assert ("声区公園整備計画" in html) is found


def send(client, consultation, body, **extra):
    path = f"/consultations/{consultation.id}"
    data = {"body": body, "section": "", "age_band": "", "area": "", "key": "", **extra}
    return post_form(client, f"{path}/opinions", data, page=path)


def test_post_an_opinion_and_get_a_receipt(client, db, open_consultation, logged_in, mailbox):
    user = logged_in()
    section = open_consultation.sections[1]
    response = send(
        client,
        open_consultation,
        "遊具の更新を早めてください。",
        section=str(section.id),
        show_name="y",
        age_band="30s",
        area="north",
    )
    assert response.status_code == 302
    opinion = db.session.scalar(select(Opinion))
    assert opinion.section_id == section.id and opinion.age_band == "30s"
    code = opinion.receipt_code
    assert len(code) == 14 and code.count("-") == 2
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert code in page and "公開中" in page
    # the receipt mail is a job committed with the opinion: the worker sends it
    assert mailbox.to(user.email) == []
    assert jobs.run_pending() == 1
    mail = mailbox.last_to(user.email)
    assert code in mail["Subject"] and mail["Subject"].startswith("【声】ご意見を受け付けました")
    # anyone with the code sees the status, and nothing personal
    stranger = client.application.test_client()
    html = stranger.get(f"/consultations/receipts/{code}").get_data(as_text=True)
    assert "遊具の更新を早めてください。" in html and user.email not in html
    assert user.display_name not in html
    # typed loosely: lower case, full width, no hyphens
    loose = code.replace("-", "").lower()
    response = stranger.get("/consultations/receipts", query_string={"code": loose})
    assert response.headers["Location"].endswith(code)
    # published on the consultation page, with the display name chosen
    html = stranger.get(f"/consultations/{open_consultation.id}").get_data(as_text=True)
    assert "遊具の更新を早めてください。" in html and user.display_name in html


def test_personal_data_in_an_opinion_is_held_and_masked(client, db, open_consultation, logged_in):
    logged_in()
    send(client, open_consultation, "詳しくは090-1234-5678に電話をください。")
    item = db.session.scalar(select(ModerationItem).where(ModerationItem.source == "opinion"))
    assert (
        item.status == ItemStatus.HELD
        and item.public_text == "詳しくは［電話番号］に電話をください。"
    )
    html = client.application.test_client().get(f"/consultations/{open_consultation.id}")
    assert "090-1234-5678" not in html.get_data(as_text=True)


def test_a_my_number_is_refused_and_the_text_kept(client, db, open_consultation, logged_in):
    logged_in()
    response = send(client, open_consultation, "私の番号は1234-5678-9018です")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "マイナンバー" in html and "私の番号は1234-5678-9018です" in html
    assert db.session.scalar(select(Opinion)) is None


def test_too_long_says_by_how_much(client, db, open_consultation, logged_in):
    logged_in()
    html = send(client, open_consultation, "あ" * 4010).get_data(as_text=True)
    assert "10文字長すぎます" in html


def test_a_double_submit_makes_one_opinion(client, db, open_consultation, logged_in):
    logged_in()
    first = send(client, open_consultation, "照明を増やしてください。", key="k-123")
    second = send(client, open_consultation, "照明を増やしてください。", key="k-123")
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Opinion)) == 1


def test_a_retry_after_closing_still_gets_its_receipt(client, db, open_consultation, logged_in):
    """The first try was stored but its answer lost (a timeout); the retry comes after closing."""
    logged_in()
    before = utcnow()
    first = send(client, open_consultation, "照明を増やしてください。", key="k-late")
    opinion = db.session.scalar(select(Opinion))
    assert before <= as_utc(opinion.created_at) <= utcnow()  # the moment it was checked open
    open_consultation.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    retry = send(client, open_consultation, "照明を増やしてください。", key="k-late")
    assert retry.status_code == 302 and retry.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Opinion)) == 1


@pytest.mark.parametrize("closed", [True, False], ids=["after-closing", "while-open"])
def test_a_retry_while_the_first_is_still_running_waits_for_it(
    client, db, open_consultation, logged_in, closed
):
    """The first try is still being stored when the retry (same key) arrives, after closing
    or not: the retry (checked by moderation meanwhile) waits for it and gets its receipt,
    never "closed" and never a second opinion."""
    user = logged_in()
    path = f"/consultations/{open_consultation.id}"
    token = csrf_token(client, path)
    closes_at = utcnow() - timedelta(seconds=1) if closed else open_consultation.closes_at
    open_consultation.closes_at = closes_at
    db.session.commit()
    # the first request: it holds the key (as a request does from its start to its commit)
    operations.hold_key(user, "k-slow")
    answers = []
    retry = threading.Thread(
        target=lambda: answers.append(
            client.post(
                f"{path}/opinions",
                data={
                    "body": "照明を増やしてください。",
                    "section": "",
                    "age_band": "",
                    "area": "",
                    "key": "k-slow",
                    "csrf_token": token,
                },
            )
        )
    )
    retry.start()
    retry.join(timeout=1.0)
    assert retry.is_alive(), "the retry must wait while the first holds the key"
    scan = moderation_ops.scan_text("照明を増やしてください。", user)
    opinion, _ = operations.submit_opinion(
        open_consultation,
        user,
        scan,
        idempotency_key="k-slow",
        received_at=closes_at - timedelta(seconds=5),  # checked open before closing
    )
    db.session.commit()
    retry.join(timeout=30)
    assert answers and answers[0].status_code == 302
    assert (
        answers[0].headers["Location"].startswith(f"/consultations/receipts/{opinion.receipt_code}")
    )
    assert db.session.scalar(select(func.count()).select_from(Opinion)) == 1


def test_after_closing_the_text_is_kept_with_the_reason(client, db, open_consultation, logged_in):
    logged_in()
    open_consultation.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = send(client, open_consultation, "締め切り後の意見です。")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "受け付けていません" in html and "締め切り後の意見です。" in html
    assert db.session.scalar(select(Opinion)) is None


def test_posting_needs_a_confirmed_address(client, db, open_consultation, make_user):
    user = make_user(verified=False)
    login(client, user.email)
    html = send(client, open_consultation, "意見です。").get_data(as_text=True)
    assert "メールアドレスの確認" in html
    assert db.session.scalar(select(Opinion)) is None


def test_unknown_receipt_codes(client, db):
    assert client.get("/consultations/receipts/AAAA-BBBB-CCCC").status_code == 404
    html = client.get("/consultations/receipts", query_string={"code": "nope"}).get_data(
        as_text=True
    )
    assert "この受付番号の意見はありません" in html


def opinion_by(client, db, consultation, text):
    send(client, consultation, text)
    return db.session.scalar(select(Opinion).order_by(Opinion.id.desc()))


def test_reactions_one_per_person_changeable(app, client, db, open_consultation, make_user):
    author = make_user()
    login(client, author.email)
    opinion = opinion_by(client, db, open_consultation, "ベンチを増やしてください。")
    reader = make_user()
    other = app.test_client()
    login(other, reader.email)
    path = f"/consultations/{open_consultation.id}"
    react = f"/consultations/opinions/{opinion.id}/react"
    post_form(other, react, {"kind": "agree"}, page=path)
    post_form(other, react, {"kind": "disagree"}, page=path)
    reactions = db.session.scalars(select(Reaction)).all()
    assert [(r.user_id, r.kind.value) for r in reactions] == [(reader.id, "disagree")]
    html = other.get(path).get_data(as_text=True)
    assert 'aria-pressed="true">反対 1</button>' in html
    # not on one's own opinion, not with an unknown kind
    post_form(client, react, {"kind": "agree"}, page=path)
    post_form(other, react, {"kind": "love"}, page=path)
    assert len(db.session.scalars(select(Reaction)).all()) == 1


def test_edit_and_withdraw_while_open(client, db, open_consultation, logged_in, mailbox):
    logged_in()
    opinion = opinion_by(client, db, open_consultation, "公園にトイレを増やしてください。")
    path = f"/consultations/opinions/{opinion.id}/edit"
    assert "公園にトイレを増やしてください。" in client.get(path).get_data(as_text=True)
    response = post_form(
        client, path, {"body": "公園に多目的トイレを増やしてください。"}, page=path
    )
    assert response.status_code == 302
    item = db.session.scalar(select(ModerationItem).where(ModerationItem.source == "opinion"))
    db.session.refresh(item)
    assert item.original_text == "公園に多目的トイレを増やしてください。"
    html = client.get("/consultations/my-voice").get_data(as_text=True)
    assert "多目的トイレ" in html and opinion.receipt_code in html
    post_form(
        client, f"/consultations/opinions/{opinion.id}/withdraw", {"confirm": "yes"}, page=path
    )
    db.session.expire_all()
    assert db.session.get(Opinion, opinion.id).withdrawn_at is not None
    html = client.get(f"/consultations/{open_consultation.id}").get_data(as_text=True)
    assert "多目的トイレ" not in html
    assert "取り下げ済み" in client.get("/consultations/my-voice").get_data(as_text=True)
    # withdrawn: no more changes
    response = post_form(client, path, {"body": "もう一度"}, page="/consultations/my-voice")
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.original_text == "公園に多目的トイレを増やしてください。"


def test_only_the_author_edits_or_withdraws(app, client, db, open_consultation, make_user):
    author = make_user()
    login(client, author.email)
    opinion = opinion_by(client, db, open_consultation, "自転車置き場を広げてください。")
    other = app.test_client()
    login(other, make_user().email)
    assert other.get(f"/consultations/opinions/{opinion.id}/edit").status_code == 403
    response = post_form(
        other, f"/consultations/opinions/{opinion.id}/withdraw", {"confirm": "yes"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Opinion, opinion.id).withdrawn_at is None


def test_no_changes_after_closing(client, db, open_consultation, logged_in):
    logged_in()
    opinion = opinion_by(client, db, open_consultation, "照明の色を暖かくしてください。")
    open_consultation.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    post_form(client, f"/consultations/opinions/{opinion.id}/withdraw", {"confirm": "yes"})
    db.session.expire_all()
    assert db.session.get(Opinion, opinion.id).withdrawn_at is None
    html = client.get("/consultations/my-voice").get_data(as_text=True)
    assert "区が検討しています" in html


def test_readers_report_an_opinion_and_it_is_hidden(app, client, db, open_consultation, make_user):
    app.config["REPORT_HIDE_THRESHOLD"] = 1
    author = make_user()
    login(client, author.email)
    opinion = opinion_by(client, db, open_consultation, "この計画は全部だめだ。")
    item = operations.item_of(opinion)
    reader = app.test_client()
    login(reader, make_user().email)
    path = f"/consultations/{open_consultation.id}"
    html = reader.get(path).get_data(as_text=True)
    assert f'action="/moderation/items/{item.id}/report"' in html
    post_form(
        reader, f"/moderation/items/{item.id}/report", {"reason": "abuse", "next": path}, page=path
    )
    html = reader.get(path).get_data(as_text=True)
    assert "この計画は全部だめだ。" not in html
    db.session.refresh(item)
    assert item.status == ItemStatus.HELD and "reported" in item.reasons


def test_published_opinions_come_in_pages(client, db, open_consultation):
    for n in range(1, 53):
        text = f"意見その{n}番です。"
        scan = moderation_ops.scan_text(text, None, spam=False)
        operations.submit_opinion(open_consultation, None, scan)
    db.session.commit()
    path = f"/consultations/{open_consultation.id}"
    first = client.get(path).get_data(as_text=True)
    assert "52件の意見が公開されています" in first
    assert "意見その20番です。" in first and "意見その21番です。" not in first
    second = client.get(path, query_string={"page": 2}).get_data(as_text=True)
    assert "意見その21番です。" in second and "意見その1番です。" not in second
    assert 'start="21"' in second
    last = client.get(path, query_string={"page": 3}).get_data(as_text=True)
    assert "意見その52番です。" in last and "意見その40番です。" not in last


def test_the_public_list_follows_every_moderation_change(client, db, open_consultation, make_user):
    """Opinion.listed (the public list's index) stays in step with the item and withdrawal."""
    author, staff = make_user(), make_user(role=Role.STAFF)
    path = f"/consultations/{open_consultation.id}"

    def listed(opinion) -> bool:
        db.session.commit()
        db.session.expire_all()
        shown = "照明を明るく" in client.get(path).get_data(as_text=True)
        flag = db.session.get(Opinion, opinion.id).listed
        assert flag == shown, "the flag and the page disagree"
        return flag

    scan = moderation_ops.scan_text("照明を明るくしてください。電話090-1234-5678", author)
    opinion, _ = operations.submit_opinion(open_consultation, author, scan)
    item = operations.item_of(opinion)
    assert item.status == ItemStatus.HELD and not listed(opinion)
    moderation_ops.approve(item, staff)
    assert listed(opinion)
    operations.edit_opinion(opinion, author, moderation_ops.scan_text("照明を明るくして。", author))
    assert listed(opinion)
    moderation_ops.report(item, make_user(), "abuse", hide_after=1)
    assert not listed(opinion)
    moderation_ops.approve(item, staff)
    assert listed(opinion)
    moderation_ops.reject(item, staff, "abuse")
    assert not listed(opinion)

    other, _ = operations.submit_opinion(
        open_consultation,
        author,
        moderation_ops.scan_text("照明を明るくする案に賛成です。", author),
    )
    assert listed(other)
    operations.withdraw_opinion(other, author)
    assert not listed(other)
    assert (
        db.session.scalar(
            select(func.count()).select_from(
                operations.published_query(open_consultation).subquery()
            )
        )
        == 0
    )


@pytest.mark.parametrize(
    ("body", "published"),
    [
        ("集積所のネズミを殺す薬を撒いてほしい。", True),  # pest control is a ward topic
        ("この計画はばかげている。見直してください。", True),  # civil criticism of a plan
        (
            "賛成です。https://a.example.com/1 https://b.example.com/2 https://c.example.com/3",
            False,
        ),
    ],
)
def test_moderation_reads_words_in_context_and_holds_link_heavy_opinions(
    client, db, open_consultation, logged_in, body, published
):
    logged_in()
    response = send(client, open_consultation, body)
    assert response.status_code == 302
    opinion = db.session.scalar(select(Opinion).order_by(Opinion.id.desc()))
    item = operations.item_of(opinion)
    assert (item.status == ItemStatus.PUBLISHED) is published
    if not published:
        assert item.reasons == ["too_many_links"]
    html = client.get(f"/consultations/{open_consultation.id}").get_data(as_text=True)
    assert (body[:8] in html) is published


def test_threats_are_still_refused(client, db, open_consultation, logged_in):
    logged_in()
    for body in ("お前を殺す", "死ね"):
        html = send(client, open_consultation, body).get_data(as_text=True)
        assert "攻撃的な表現が含まれているため" in html
    assert db.session.scalar(select(func.count()).select_from(Opinion)) == 0
