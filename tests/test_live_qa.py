"""Q&A and live captions of an event, over Socket.IO (``/live``) and as plain forms: ask
(named or anonymous), upvote once, the moderators' steps with "answering now" for all, the
answered archive, screened questions, a question into a consultation opinion; captioners,
captions for every viewer, the WebVTT file; bad payloads answered, never a crash."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import webvtt
from sqlalchemy import func, select

from app.audit import AuditEntry
from app.auth.models import Role
from app.consultations.models import Channel, Opinion
from app.events.qa_models import CaptionLine, Question, QuestionState, QuestionVote
from app.extensions import db as _db
from app.timeutil import utcnow
from tests.conftest import create_open_consultation
from tests.test_live_chat import NS, Person, new_event
from tests.test_naughty_strings import naughty  # noqa: F401  (a fixture)


@pytest.fixture
def people(app, db, make_user):
    staff = make_user(role=Role.STAFF)
    event = new_event(staff)

    def person(role=Role.RESIDENT, lang="ja", **kwargs):
        return Person(app, make_user(role=role, **kwargs) if role else None, lang)

    return event, person, staff


def ask(p: Person, event, text: str, client_id: str | None = None, **extra):
    data = {"event": event.id, "client_id": client_id or uuid.uuid4().hex, "text": text}
    return p.call("ask", data | extra)


def test_ask_upvote_answer_and_archive_reach_everyone(people):
    event, person, _staff = people
    hanako, ichiro, mod, guest = person(), person(), person(Role.MODERATOR), person(role=None)
    for p in (hanako, ichiro, mod, guest):
        p.connect()
        answer = p.join(event)
        assert answer["questions"] == []
        p.received()

    asked = ask(hanako, event, "避難所にペットは連れて行けますか？", "q-client-01")
    assert asked["ok"], asked
    question = asked["question"]
    assert question["state"] == "open" and question["mine"] and question["votes"] == 0
    # its event: the asker's other pages (their own room reaches them all) leave it out
    assert question["event"] == event.id
    for p in (ichiro, mod, guest):
        (got,) = p.received("question")
        assert got["id"] == question["id"] and got["text"] == "避難所にペットは連れて行けますか？"
        assert "mine" not in got and "voted" not in got  # what only a viewer knows is not sent
    again = ask(hanako, event, "避難所にペットは連れて行けますか？", "q-client-01")  # a resend
    assert again["ok"] and again["question"]["id"] == question["id"]
    assert _db.session.scalar(select(func.count()).select_from(Question)) == 1

    # upvotes: once per person, not one's own, taken back; everyone sees the count
    voted = ichiro.call("vote", {"event": event.id, "question": question["id"], "up": True})
    assert voted["ok"] and voted["question"]["votes"] == 1 and voted["question"]["voted"]
    twice = ichiro.call("vote", {"event": event.id, "question": question["id"], "up": True})
    assert twice["ok"] and twice["question"]["votes"] == 1
    own = hanako.call("vote", {"event": event.id, "question": question["id"], "up": True})
    assert not own["ok"] and own["error"] == "own_question"
    refused = guest.call("vote", {"event": event.id, "question": question["id"], "up": True})
    assert not refused["ok"] and refused["error"] == "login"
    assert [q["votes"] for q in guest.received("question")] == [1]
    back = ichiro.call("vote", {"event": event.id, "question": question["id"], "up": False})
    assert back["question"]["votes"] == 0 and not back["question"]["voted"]
    assert ichiro.call("vote", {"event": event.id, "question": question["id"], "up": True})["ok"]
    assert _db.session.scalar(select(func.count()).select_from(QuestionVote)) == 1

    # residents cannot moderate; moderators answer, and it is pinned for all
    step = {"event": event.id, "question": question["id"], "action": "answering"}
    assert ichiro.call("question", step)["error"] == "forbidden"
    for p in (hanako, ichiro, guest):
        p.received()
    assert mod.call("question", step)["ok"]
    for p in (hanako, ichiro, guest):
        states = [q["state"] for q in p.received("question")]
        assert states[-1] == "answering"
    # the next question answered moves the first to the answered archive
    second = ask(ichiro, event, "備蓄は何日分が必要ですか？")["question"]
    assert mod.call("question", step | {"question": second["id"]})["ok"]
    _db.session.expire_all()
    first = _db.session.get(Question, question["id"])
    assert first.state == QuestionState.ANSWERED and first.answered_at is not None
    listed = guest.join(event)["questions"]
    assert [(q["id"], q["state"]) for q in listed] == [
        (second["id"], "answering"),
        (question["id"], "answered"),
    ]
    # the question being answered still takes votes; an answered one does not
    assert hanako.call("vote", {"event": event.id, "question": second["id"], "up": True})["ok"]
    refused = ichiro.call("vote", {"event": event.id, "question": question["id"], "up": True})
    assert not refused["ok"] and refused["error"] == "not_listed"
    actions = _db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("question.%"))
    ).all()
    assert actions == ["question.answering", "question.answering"]


def test_anonymous_questions_and_screened_events(people, make_user):
    event, person, _staff = people
    hanako, ichiro, mod = person(display_name="花子"), person(), person(Role.MODERATOR)
    for p in (hanako, ichiro, mod):
        p.connect()
        p.join(event)
        p.received()
    anonymous = ask(hanako, event, "名前を出さずに聞きます。", anonymous=True)["question"]
    assert anonymous["author"] == "匿名"
    (seen,) = ichiro.received("question")
    assert seen["author"] == "匿名" and "花子" not in str(seen)
    assert "花子" not in str(mod.received("question"))  # moderators see it on the staff page

    event.questions_anonymous = False
    event.questions_moderated = True
    _db.session.commit()
    refused = ask(hanako, event, "名前なしで。", anonymous=True)
    assert not refused["ok"] and refused["error"] == "anonymous_off"
    ichiro.received()
    screened = ask(hanako, event, "区の備蓄倉庫はどこにありますか？")["question"]
    assert screened["state"] == "pending" and screened["mine"]
    assert ichiro.received("question") == []  # not listed: the others do not get it
    (waiting,) = [q for q in mod.received("question") if q["id"] == screened["id"]]
    assert waiting["state"] == "pending"
    assert screened["id"] not in [q["id"] for q in ichiro.join(event)["questions"]]
    assert screened["id"] in [q["id"] for q in hanako.join(event)["questions"]]
    vote = ichiro.call("vote", {"event": event.id, "question": screened["id"], "up": True})
    assert not vote["ok"] and vote["error"] == "not_listed"
    approve = {"event": event.id, "question": screened["id"], "action": "approve"}
    assert mod.call("question", approve)["ok"]
    (listed,) = [q for q in ichiro.received("question") if q["id"] == screened["id"]]
    assert listed["state"] == "open"
    # dismissed: gone from everyone's list, its author still sees it
    dismiss = approve | {"action": "dismiss"}
    assert mod.call("question", dismiss)["ok"]
    assert {"ids": [screened["id"]]} in ichiro.received("question_gone")
    mine = [q for q in hanako.received("question") if q["id"] == screened["id"]]
    assert mine[-1]["state"] == "dismissed" and mine[-1]["mine"]
    assert screened["id"] not in [q["id"] for q in ichiro.join(event)["questions"]]
    # a step the state does not allow
    again = mod.call("question", dismiss)
    assert not again["ok"] and again["error"] == "state"


def test_bad_question_payloads_are_answered(people, naughty):  # noqa: F811
    event, person, _staff = people
    hanako, mod = person(), person(Role.MODERATOR)
    hanako.connect()
    mod.connect()
    hanako.join(event)
    hanako.app.extensions["koe_pace"].rates["ask"] = (1000, 10)  # past a page's pace on purpose
    for data in (
        {"event": event.id, "client_id": "short", "text": "質問"},
        {"event": event.id, "client_id": uuid.uuid4().hex, "text": "  "},
        {"event": event.id, "client_id": uuid.uuid4().hex, "text": "あ" * 301},
        {"event": event.id, "client_id": uuid.uuid4().hex, "text": ["list"]},
        {"event": "1", "client_id": uuid.uuid4().hex, "text": "質問"},
    ):
        answer = hanako.call("ask", data)
        assert not answer["ok"] and answer["message"], (data, answer)
    long = hanako.call(
        "ask", {"event": event.id, "client_id": uuid.uuid4().hex, "text": "あ" * 301}
    )
    assert long["error"] == "too_long" and "1" in long["message"]
    for data in (
        {"event": event.id, "question": "1", "up": True},
        {"event": event.id, "question": 10**6, "up": True},
        {"event": event.id, "question": True},
    ):
        assert not hanako.call("vote", data)["ok"]
    real = ask(hanako, event, "質問です")["question"]
    assert not hanako.call("vote", {"event": event.id, "question": real["id"], "up": "yes"})["ok"]
    assert not mod.call("question", {"event": event.id, "question": real["id"], "action": "x"})[
        "ok"
    ]
    # every naughty string is stored and sent back as text (the page escapes it)
    for text in naughty[:60]:
        answer = ask(hanako, event, text)
        if answer["ok"]:
            assert "<script" not in answer["question"]["text"] or "<script" in text
    assert hanako.sio.is_connected(NS) and mod.sio.is_connected(NS)


def test_questions_without_javascript(app, people):
    event, person, _staff = people
    hanako, ichiro = person(), person()
    page = hanako.http.get(f"/events/{event.id}/live", headers=hanako.headers)
    html = page.get_data(as_text=True)
    client_id = re.search(r'name="client_id" value="([^"]+)"', html[html.index("ask-form") :])
    form = {"csrf_token": hanako.csrf, "client_id": client_id.group(1), "text": "質問です。"}
    done = hanako.http.post(f"/events/{event.id}/questions", data=form, headers=hanako.headers)
    assert done.status_code == 302 and done.location.endswith("#qa")
    again = hanako.http.post(f"/events/{event.id}/questions", data=form, headers=hanako.headers)
    assert again.status_code == 302
    question = _db.session.scalar(select(Question))
    assert _db.session.scalar(select(func.count()).select_from(Question)) == 1
    # refused: the page again with the text kept and the reason
    bad = form | {"client_id": uuid.uuid4().hex, "text": "あ" * 301}
    refused = hanako.http.post(f"/events/{event.id}/questions", data=bad, headers=hanako.headers)
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "あ" * 301 in body and "1文字" in body
    # vote and take it back
    base = f"/events/{event.id}/questions/{question.id}"
    token = {"csrf_token": ichiro.csrf}
    assert ichiro.http.post(f"{base}/vote", data=token).status_code == 302
    _db.session.refresh(question)
    assert question.votes == 1
    page = ichiro.http.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert f'action="{base}/unvote"' in page and 'aria-pressed="true"' in page
    assert ichiro.http.post(f"{base}/unvote", data=token).status_code == 302
    _db.session.refresh(question)
    assert question.votes == 0
    # a resident cannot take a moderator's step; the reason is shown
    refused = ichiro.http.post(f"{base}/answering", data=token, follow_redirects=True)
    assert "モデレーター" in refused.get_data(as_text=True)
    assert ichiro.http.post(f"{base}/nonsense", data=token).status_code == 404
    # without the CSRF token nothing changes
    assert ichiro.http.post(f"{base}/vote", data={}).status_code == 400


def test_staff_turn_a_question_into_an_opinion(app, people, make_user):
    event, person, staff = people
    consultation = create_open_consultation(staff)
    hanako = person()
    text = "避難所の情報を、LINEでも知らせてください。電話は 03-1234-5678 です。"
    hanako.connect()
    question = ask(hanako, event, text)
    assert question["ok"], question
    qid = question["question"]["id"]
    assert "03-1234-5678" not in question["question"]["text"]  # masked for everyone
    office = Person(app, staff)
    page = office.http.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert "Add to a consultation" in page or "意見募集" in page
    done = office.http.post(
        f"/events/{event.id}/questions/{qid}/opinion",
        data={"csrf_token": office.csrf, "consultation": consultation.id},
        follow_redirects=True,
    )
    assert done.status_code == 200
    opinion = _db.session.scalar(select(Opinion).where(Opinion.consultation_id == consultation.id))
    assert opinion.channel == Channel.EVENT and opinion.author_id is None
    assert _db.session.get(Question, qid).opinion_id == opinion.id
    assert opinion.receipt_code in done.get_data(as_text=True)
    # once only
    again = office.http.post(
        f"/events/{event.id}/questions/{qid}/opinion",
        data={"csrf_token": office.csrf, "consultation": consultation.id},
    )
    assert again.status_code == 302
    assert _db.session.scalar(select(func.count()).select_from(Opinion)) == 1
    # a resident cannot
    refused = hanako.http.post(
        f"/events/{event.id}/questions/{qid}/opinion",
        data={"csrf_token": hanako.csrf, "consultation": consultation.id},
    )
    assert refused.status_code == 302
    assert _db.session.scalar(select(func.count()).select_from(Opinion)) == 1
    audited = select(func.count()).where(AuditEntry.action == "question.to_opinion")
    assert _db.session.scalar(audited) == 1


def test_deleting_an_account_takes_its_votes_off_the_counts(people):
    event, person, _staff = people
    hanako, ichiro = person(), person()
    for p in (hanako, ichiro):
        p.connect()
    qid = ask(hanako, event, "質問です")["question"]["id"]
    assert ichiro.call("vote", {"event": event.id, "question": qid, "up": True})["ok"]
    from app.auth.operations import delete_account

    delete_account(_db.session.get(type(ichiro.user), ichiro.user.id))
    _db.session.commit()
    assert _db.session.get(Question, qid).votes == 0


def test_captions_reach_every_viewer_and_make_a_webvtt_file(app, people):
    event, person, staff = people
    office, writer, viewer, guest = Person(app, staff), person(), person(), person(role=None)
    # only captioners send captions; staff add them by e-mail address
    writer.connect()
    writer.join(event)
    refused = writer.call("caption", {"event": event.id, "text": "こんにちは"})
    assert not refused["ok"] and refused["error"] == "not_captioner"
    unknown = office.http.post(
        f"/events/{event.id}/captioners",
        data={"csrf_token": office.csrf, "email": "nobody@example.jp"},
        follow_redirects=True,
    )
    assert "アカウント" in unknown.get_data(as_text=True)
    added = office.http.post(
        f"/events/{event.id}/captioners",
        data={"csrf_token": office.csrf, "email": writer.user.email},
    )
    assert added.status_code == 302
    assert writer.user.display_name in office.http.get(f"/events/{event.id}/live").get_data(
        as_text=True
    )
    for p in (viewer, guest):
        p.connect()
        p.join(event)
        p.received()
    lines = ["本日はお集まりいただき", "ありがとうございます。<b>防災</b> --> 講座です"]
    for text in lines:
        sent = writer.call("caption", {"event": event.id, "text": text})
        assert sent["ok"], sent
    for p in (viewer, guest):
        assert [c["text"] for c in p.received("caption")] == lines
    assert [c["text"] for c in guest.join(event)["captions"]] == lines
    for bad in ("", "あ" * 201, None, ["x"]):
        assert not writer.call("caption", {"event": event.id, "text": bad})["ok"]
    # the page shows the last lines over the video, escaped
    page = guest.http.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert "本日はお集まりいただき" in page and "&lt;b&gt;防災&lt;/b&gt;" in page
    # without JavaScript: a plain form
    form = {"csrf_token": writer.csrf, "text": "質疑応答に移ります"}
    assert writer.http.post(f"/events/{event.id}/captions", data=form).status_code == 302
    # the WebVTT file: each line a cue, timed from the event's start, text escaped
    vtt = guest.http.get(f"/events/{event.id}/captions.vtt")
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    parsed = webvtt.from_buffer(__import__("io").StringIO(vtt.get_data(as_text=True)))
    assert [c.text for c in parsed] == [
        "本日はお集まりいただき",
        "ありがとうございます。&lt;b&gt;防災&lt;/b&gt; --&gt; 講座です",
        "質疑応答に移ります",
    ]
    first = parsed.captions[0]
    assert first.start_in_seconds >= 9 * 60  # the event started ten minutes ago
    assert all(c.end_in_seconds - c.start_in_seconds <= 6 for c in parsed)
    assert _db.session.scalar(select(func.count()).select_from(CaptionLine)) == 3
    # removing the captioner stops their captions
    captioner_id = re.search(
        rf"/events/{event.id}/captioners/(\d+)/remove",
        office.http.get(f"/events/{event.id}/live").get_data(as_text=True),
    ).group(1)
    removed = office.http.post(
        f"/events/{event.id}/captioners/{captioner_id}/remove", data={"csrf_token": office.csrf}
    )
    assert removed.status_code == 302
    assert not writer.call("caption", {"event": event.id, "text": "もう一行"})["ok"]
    actions = _db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("event.captioner%"))
    ).all()
    assert actions == ["event.captioner_add", "event.captioner_remove"]


def test_captions_of_a_private_event_are_private(app, people, make_user):
    event, person, _staff = people
    event.audience = event.audience.__class__("signed_in")
    _db.session.commit()
    guest = person(role=None)
    assert guest.http.get(f"/events/{event.id}/captions.vtt").status_code in (302, 403)
    assert person().http.get(f"/events/{event.id}/captions.vtt").status_code == 200


def edit_form(office: Person, page: str, **fields) -> dict:
    """The event form as its page fills it, with an online event two hours long from nine
    hours ahead and ``fields``; the check boxes not named are left unticked."""
    form = dict(re.findall(r'name="(\w+)"[^>]*value="([^"]*)"', page))
    for box in ("chat_enabled", "questions_anonymous", "registration_required", "capacity"):
        form.pop(box, None)
    return form | {
        "csrf_token": office.csrf,
        "title": "防災講座",
        "starts_at": (utcnow() + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (utcnow() + timedelta(hours=11)).strftime("%Y-%m-%dT%H:%M"),
        "mode": "online",
        "audience": "everyone",
        "slow_mode_seconds": "0",
        **fields,
    }


def test_event_form_sets_chat_and_questions(app, people):
    event, _person, staff = people
    office = Person(app, staff)
    page = office.http.get(f"/events/{event.id}/edit").get_data(as_text=True)
    assert 'name="questions_moderated"' in page and 'name="slow_mode_seconds"' in page
    form = edit_form(
        office, page, slow_mode_seconds="10", questions_enabled="y", questions_moderated="y"
    )
    saved = office.http.post(f"/events/{event.id}/edit", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    _db.session.refresh(event)
    assert (event.chat_enabled, event.slow_mode_seconds) == (False, 10)
    assert (event.questions_enabled, event.questions_moderated, event.questions_anonymous) == (
        True,
        True,
        False,
    )
    bad = office.http.post(f"/events/{event.id}/edit", data=form | {"slow_mode_seconds": "7"})
    assert bad.status_code == 400


def test_questions_grouped_by_theme_in_the_jobs_worker(app, people):
    from app import jobs

    event, person, staff = people
    office, resident = Person(app, staff), person()
    questions = [
        "避難所にペットは連れて行けますか？",
        "ペットと一緒に避難するときの注意は？",
        "犬や猫のペットは避難所のどこにいられますか？",
        "備蓄の水は何日分必要ですか？",
        "家庭の備蓄食料は何日分が目安ですか？",
        "水と食料の備蓄はどのくらい必要ですか？",
    ]
    for text in questions:  # (one person asking six at once would be refused as a flood)
        asker = person()
        asker.connect()
        answer = ask(asker, event, text)
        assert answer["ok"], answer
    themes = f"/events/{event.id}/questions/themes"
    assert resident.http.post(themes, data={"csrf_token": resident.csrf}).status_code == 302
    assert jobs.run_pending() == 0  # a resident asked for nothing
    assert office.http.post(themes, data={"csrf_token": office.csrf}).status_code == 302
    assert jobs.run_pending() == 1
    _db.session.expire_all()
    groups = _db.session.get(type(event), event.id).question_themes
    assert sorted(len(g["questions"]) for g in groups) == [3, 3]
    pet = {q.id for q in _db.session.scalars(select(Question)) if "ペット" in qa_text(q)}
    assert any(set(g["questions"]) == pet for g in groups)
    page = office.http.get(f"/events/{event.id}/live").get_data(as_text=True)
    assert "テーマ別の質問" in page and "ペットと一緒に避難するときの注意は？" in page
    assert "テーマ別の質問" not in resident.http.get(f"/events/{event.id}/live").get_data(
        as_text=True
    )


def test_questions_are_grouped_on_their_masked_public_text(app, people):
    """The themes' names are shown: they are made from the masked copy, never the original."""
    from app.events.qa import texts_for_themes

    event, person, _staff = people
    asker = person()
    asker.connect()
    ask(asker, event, "避難所の問い合わせ先は090-1234-5678でいいですか？")
    _db.session.expire_all()
    texts = [text for _id, text in texts_for_themes(_db.session.get(type(event), event.id))]
    assert texts and all("090-1234-5678" not in t for t in texts)
    assert any("［電話番号］" in t for t in texts)


def qa_text(question) -> str:
    from app.events.qa import item_of

    return item_of(question).original_text
