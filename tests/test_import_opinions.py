"""`flask koe import-opinions`: paper, fax, counter and e-mail opinions from CSV, all or none."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import func, select

from app.audit import AuditEntry
from app.auth.models import Role
from app.consultations import operations
from app.consultations.forms import AGE_BANDS, ENTRY_CHANNELS, OPINION_MAX
from app.consultations.models import Channel, Opinion
from app.moderation.models import ItemStatus
from app.timeutil import to_tokyo
from tests.conftest import create_open_consultation, csrf_token, post_form

GOOD = """channel,section,text,received_at,age_band,area
paper,2,遊具を新しくしてください。,2026-11-20 10:00,70s,north
fax,,夜道が暗いので照明を増やしてほしい。連絡先 03-1111-2222,,,
窓口,1,"車いすでも使える公園に
してください。",2026/11/21 14:30,,
メール,3,ベンチを増やしてください。,,40s,
"""


@pytest.fixture
def consultation(db, make_user):
    return create_open_consultation(make_user(role=Role.STAFF))


def run(app, consultation, tmp_path, content: bytes, by="staff@example.jp"):
    path = tmp_path / "opinions.csv"
    path.write_bytes(content)
    return app.test_cli_runner().invoke(
        args=["koe", "import-opinions", str(consultation.id), str(path), "--by", by]
    )


def count(db):
    return db.session.scalar(select(func.count()).select_from(Opinion))


def test_import_in_utf8_and_shift_jis(app, db, consultation, make_user, tmp_path):
    make_user(role=Role.STAFF, email="staff@example.jp")
    result = run(app, consultation, tmp_path, GOOD.encode("utf-8-sig"))
    assert result.exit_code == 0, result.output
    assert "imported 4 opinion(s): 3 published, 1 waiting for a moderator" in result.output
    opinions = db.session.scalars(select(Opinion).order_by(Opinion.id)).all()
    assert [o.channel for o in opinions] == [
        Channel.PAPER, Channel.FAX, Channel.COUNTER, Channel.EMAIL,
    ]  # fmt: skip
    assert opinions[0].section.position == 2 and opinions[0].age_band == "70s"
    received = to_tokyo(opinions[0].created_at)  # the date written on the paper, in Tokyo
    assert (received.month, received.day, received.hour) == (11, 20, 10)
    assert all(o.author_id is None for o in opinions)
    held = operations.item_of(opinions[1])
    assert held.status == ItemStatus.HELD and "［電話番号］" in held.public_text
    assert operations.item_of(opinions[2]).original_text == "車いすでも使える公園に\nしてください。"
    for opinion in opinions:
        assert opinion.receipt_code in result.output
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "consultation.import_opinions")
    )
    assert entry.details["opinions"] == 4 and len(entry.details["digest"]) == 64

    sjis = "channel,section,text\n紙,２,保育園を増やしてください。\nＦＡＸ,,図書館を\n".encode(
        "cp932"
    )
    assert run(app, consultation, tmp_path, sjis).exit_code == 0
    assert count(db) == 6


def test_one_bad_row_imports_nothing_and_names_every_problem(
    app, db, consultation, make_user, tmp_path
):
    make_user(role=Role.STAFF, email="staff@example.jp")
    bad = (
        "channel,section,text,received_at,age_band,area\n"
        "paper,1,よい意見です。,,,\n"
        "pigeon,9,,yesterday,100s,atlantis\n"
        "fax,,私のマイナンバーは1234-5678-9018です,,,\n"
    )
    result = run(app, consultation, tmp_path, bad.encode())
    assert result.exit_code != 0
    out = result.output
    assert "nothing imported" in out
    for problem in (
        "line 3: unknown channel 'pigeon'",
        "line 3: no text",
        "line 3: no section '9'",
        "line 3: received_at 'yesterday'",
        "line 3: age_band '100s'",
        "line 3: unknown area 'atlantis'",
        "line 4: refused by moderation: my_number",
    ):
        assert problem in out
    assert "1234-5678-9018" not in out  # the number is never printed
    assert count(db) == 0


def test_rows_meet_the_same_rules_as_the_form(app, db, consultation, make_user, tmp_path):
    """The form's channels and age bands are accepted, and its length limit applies."""
    make_user(role=Role.STAFF, email="staff@example.jp")
    longest = "公園の意見です。" * (OPINION_MAX // 8)
    assert len(longest) == OPINION_MAX
    too_long = f"channel,text,age_band\npaper,{longest},\nfax,{longest}。,{AGE_BANDS[0]}\n".encode()
    result = run(app, consultation, tmp_path, too_long)
    assert result.exit_code and "line 3: text 1 characters too long" in result.output
    assert "line 2:" not in result.output
    rows = "".join(
        f"{channel.value},{channel.value}で届いた意見です。,{band}\n"
        for channel, band in zip(ENTRY_CHANNELS, AGE_BANDS, strict=False)
    )
    result = run(app, consultation, tmp_path, f"channel,text,age_band\n{rows}".encode())
    assert result.exit_code == 0, result.output
    assert count(db) == len(ENTRY_CHANNELS)


def test_refuses_non_staff_unknown_consultations_and_missing_columns(
    app, db, consultation, make_user, tmp_path
):
    make_user(email="resident@example.jp")
    make_user(role=Role.STAFF, email="staff@example.jp")
    assert run(app, consultation, tmp_path, GOOD.encode(), by="resident@example.jp").exit_code
    result = run(app, consultation, tmp_path, b"who,what\n1,2\n")
    assert result.exit_code and "missing columns" in result.output
    path = tmp_path / "x.csv"
    path.write_bytes(GOOD.encode())
    result = app.test_cli_runner().invoke(
        args=["koe", "import-opinions", "999999", str(path), "--by", "staff@example.jp"]
    )
    assert result.exit_code and "no consultation" in result.output
    assert count(db) == 0


def test_staff_enter_one_opinion_by_hand(client, db, consultation, logged_in):
    logged_in(Role.STAFF)
    path = f"/consultations/{consultation.id}/opinions/enter"
    data = {
        "channel": "fax",
        "received_at": "2026-11-20 09:30",
        "section": str(consultation.sections[0].id),
        "body": "公園のトイレをきれいにしてください。",
        "age_band": "",
        "area": "",
    }
    response = post_form(client, path, data, page=path)
    assert response.status_code == 302
    opinion = db.session.scalar(select(Opinion))
    assert opinion.channel == Channel.FAX and opinion.author_id is None
    assert to_tokyo(opinion.created_at).hour == 9
    assert opinion.receipt_code in client.get(path).get_data(as_text=True)  # flashed
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "opinion.enter"))
    bad = post_form(client, path, {**data, "channel": "pigeon", "received_at": "きのう"}, page=path)
    html = bad.get_data(as_text=True)
    assert "一覧から選んでください" in html and "2026-12-01 09:00 のように" in html
    assert count(db) == 1


def test_residents_cannot_enter_opinions(client, consultation, logged_in):
    logged_in()
    assert client.get(f"/consultations/{consultation.id}/opinions/enter").status_code == 403


def test_age_bands_as_residents_write_them(app, db, consultation, make_user, tmp_path):
    make_user(role=Role.STAFF, email="staff@example.jp")
    rows = "channel,text,age_band\n" + "".join(
        f"paper,意見その{n}です。,{band}\n"
        for n, band in enumerate(["70代", "７０代", "70歳代", "80歳以上", "90代", "20s"])
    )
    result = run(app, consultation, tmp_path, rows.encode())
    assert result.exit_code == 0, result.output
    bands = db.session.scalars(select(Opinion.age_band).order_by(Opinion.id)).all()
    assert bands == ["70s", "70s", "70s", "80+", "80+", "20s"]


def upload(client, path, content: bytes, name="opinions.csv"):
    import io

    data = {"csrf_token": csrf_token(client, path), "u-file": (io.BytesIO(content), name)}
    return client.post(path, data=data, content_type="multipart/form-data")


def test_staff_import_a_csv_in_the_browser_after_a_preview(client, db, consultation, logged_in):
    """Upload and check, see the preview (nothing saved), confirm: every row is entered once."""
    import re

    logged_in(Role.STAFF)
    page = f"/consultations/{consultation.id}"
    path = f"{page}/opinions/import"
    assert f'href="{path}"' in client.get(page).get_data(as_text=True)
    good = GOOD.replace("70s", "７０代").replace("40s", "40歳代")
    html = upload(client, path, good.encode("cp932")).get_data(as_text=True)
    assert count(db) == 0  # checking saves nothing
    assert "4件の意見を取り込めます" in html and "1件はモデレーターの確認を待ちます" in html
    assert "遊具を新しくしてください。" in html and "確認待ち" in html
    content = re.search(r'name="c-content" type="hidden" value="([^"]+)"', html).group(1)
    confirm = {"action": "import", "c-content": content}
    assert client.post(path, data=confirm).status_code == 400  # no CSRF token
    assert count(db) == 0
    confirm["csrf_token"] = csrf_token(client, path)
    response = client.post(path, data=confirm, content_type="multipart/form-data")
    assert response.status_code == 302
    opinions = db.session.scalars(select(Opinion).order_by(Opinion.id)).all()
    assert [o.age_band for o in opinions] == ["70s", None, None, "40s"]
    assert all(o.author_id is None for o in opinions)
    assert "4件の意見を取り込みました（公開 3件、モデレーターの確認待ち 1件）" in client.get(
        page
    ).get_data(as_text=True)
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "consultation.import_opinions")
    )
    assert entry.details["opinions"] == 4
    # pressing "import" again imports nothing twice
    response = client.post(path, data=confirm, content_type="multipart/form-data")
    assert count(db) == 4
    assert "すでに取り込まれています" in client.get(page).get_data(as_text=True)


def test_the_browser_import_lists_every_problem_by_line_and_saves_nothing(
    client, db, consultation, logged_in
):
    logged_in(Role.STAFF)
    path = f"/consultations/{consultation.id}/opinions/import"
    bad = (
        "channel,section,text,received_at,age_band,area\n"
        "paper,1,よい意見です。,,70代,\n"
        "pigeon,9,,yesterday,100代,<b>atlantis</b>\n"
        "fax,,私のマイナンバーは1234-5678-9018です,,,\n"
    )
    html = upload(client, path, bad.encode()).get_data(as_text=True)
    assert "&lt;b&gt;atlantis&lt;/b&gt;" in html and "<b>atlantis" not in html
    text = unescape(html)
    for problem in (
        "3行目：受付方法 'pigeon' は使えません",
        "3行目：本文がありません",
        "3行目：項目 '9' はありません",
        "3行目：受付日時 'yesterday'",
        "3行目：年代 '100代'",
        "3行目：地域 '<b>atlantis</b>' はありません",
        "4行目：モデレーションで受け付けられません",
    ):
        assert problem in text, problem
    assert "1234-5678-9018" not in html
    assert "c-content" not in html  # no way to import a file with problems
    html = upload(client, path, b"who,what\n1,2\n").get_data(as_text=True)
    assert "列がありません" in html
    assert count(db) == 0
    # what comes back must be the checked file, and is checked again
    forged = {
        "action": "import",
        "c-content": "not base64!",
        "csrf_token": csrf_token(client, path),
    }
    assert client.post(path, data=forged, content_type="multipart/form-data").status_code == 302
    assert count(db) == 0


def test_residents_cannot_import(client, consultation, logged_in):
    logged_in()
    assert client.get(f"/consultations/{consultation.id}/opinions/import").status_code == 403
