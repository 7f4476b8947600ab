"""The Big List of Naughty Strings in every text a consultation takes.

As an opinion (sent by real residents, so the spam checks apply as in production), in each text
field of the staff form, as a receipt code and as a search query. Each string is either stored
and read back exactly, or refused with a message saying why and nothing stored; never a 500,
never echoed unescaped.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app.auth.models import Role
from app.consultations import operations
from app.consultations.forms import OPINION_MAX
from app.consultations.models import Consultation, Opinion, Section
from app.consultations.routes import OPINIONS_PER_PAGE
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus
from app.timeutil import TOKYO, utcnow
from app.validators import has_visible
from moderation import linkify_text
from tests.conftest import create_open_consultation, csrf_token, login

BLNS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "naughty-strings" / "blns.json"
MARKUP = set('<"')
ALLOWED_CONTROLS = {"\t", "\n", "\r"}
INVISIBLE = {"Cc", "Cf", "Cn", "Zs", "Zl", "Zp"}  # control, format, unassigned, separators
POSTS_PER_RESIDENT = 4  # the flood check refuses a sixth post within a minute
DRAFT = """# 第1章 総則
この計画は、声区の公園をより使いやすくするためのものです。

# 第2章 遊具の更新
老朽化した遊具を、令和9年度までに順次更新します。"""
#: field name → (length limit, multiline, required), as in ConsultationForm
STAFF_FIELDS = {
    "title": (200, False, True),
    "summary": (2000, True, True),
    "department": (100, False, True),
    "contact": (300, True, True),
    "topics": (200, False, False),
    "draft": (200_000, True, True),
}
HEADING_MAX = Section.__table__.c.heading.type.length  # 200
BLANK = "ご意見を書いてください。"
CONTROLS = "目に見えない制御文字を取り除いてください。"
TOO_LONG = "文字長すぎます"


@pytest.fixture(scope="module")
def naughty() -> list[str]:
    if not BLNS.exists():
        pytest.fail(f"{BLNS} is missing: the datasets live in ../shared beside the project")
    return json.loads(BLNS.read_text(encoding="utf-8"))


class Problems(list):
    """Everything that went wrong, reported together at the end of a test."""

    def check(self) -> None:
        shown = "\n".join(f"  {p}" for p in self[:40])
        more = f"\n  … and {len(self) - 40} more" if len(self) > 40 else ""
        assert not self, f"{len(self)} problem(s):\n{shown}{more}"


def fetch(client, problems: Problems, method: str, path: str, value: str, **kwargs):
    """Make a request; a server error (raised in TESTING, or a 500) is recorded, not raised."""
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception as exc:  # TESTING may propagate the exception of a 500
        problems.append(f"{method} {path}: {type(exc).__name__}: {exc!s:.200} for {value!r:.80}")
        return None
    if response.status_code >= 500:
        problems.append(f"{method} {path}: {response.status_code} for {value!r:.80}")
        return None
    return response


def escaped_problem(html: str, value: str) -> str | None:
    """A value that could open a tag or leave an attribute must never appear raw in the page."""
    if MARKUP & set(value) and len(value) >= 4 and value in html:
        return f"unescaped: {value!r:.80}"
    return None


def invisible_only(value: str) -> bool:
    """Not blank to ``str.strip``, yet nothing a reader can see (zero-width, BOM, bidi marks)."""
    return bool(value.strip()) and all(
        unicodedata.category(c) in INVISIBLE or c.isspace() for c in value
    )


def has_controls(value: str, multiline: bool) -> bool:
    allowed = ALLOWED_CONTROLS if multiline else set()
    return any(unicodedata.category(c) in {"Cc", "Cs"} and c not in allowed for c in value)


def error_summary(response) -> bool:
    return 'class="error-summary"' in response.get_data(as_text=True)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def tokyo(dt) -> str:
    return dt.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def open_consultation(db, make_user):
    """An open consultation with two sections."""
    return create_open_consultation(make_user(role=Role.STAFF), draft=DRAFT)


def test_opinions(app, db, naughty, make_user, open_consultation, mailbox):
    path = f"/consultations/{open_consultation.id}"
    problems = Problems()
    published = []
    for i, value in enumerate(naughty):
        if i % POSTS_PER_RESIDENT == 0:  # a new resident: the flood check is real
            client = app.test_client()
            resident = make_user()
            assert login(client, resident.email).status_code == 302
            token = csrf_token(client)  # any page: one token per session
        db.session.rollback()  # see what the requests committed
        # What the rules say, worked out beforehand (the same scan the form runs).
        # Nothing visible stops at "write your opinion"; otherwise every rule that applies
        # is reported together.
        expected = []
        scan = None
        if not has_visible(value):
            expected.append(BLANK)
        else:
            if len(value) > OPINION_MAX:
                expected.append(TOO_LONG)
            if has_controls(value, multiline=True):
                expected.append(CONTROLS)
            scan = moderation_ops.scan_text(value, resident, spam=True)
            if scan.verdict == "reject":
                expected.append(scan.verdict.message("ja"))
        before = count(db, Opinion)
        data = {"body": value, "section": "", "age_band": "", "area": "", "key": f"blns-{i}"}
        response = fetch(
            client,
            problems,
            "POST",
            f"{path}/opinions",
            value,
            data={**data, "csrf_token": token},
        )
        if response is None:
            continue
        html = response.get_data(as_text=True)
        if problem := escaped_problem(html, value):
            problems.append(problem)
        db.session.rollback()
        if response.status_code == 302:
            opinion = db.session.scalar(select(Opinion).order_by(Opinion.id.desc()))
            item = operations.item_of(opinion)
            if expected:
                problems.append(f"accepted, expected {expected}: {value!r:.80}")
            elif invisible_only(value):
                problems.append(f"accepted with no visible character: {value!r:.80}")
            if item is None or item.original_text != value:
                problems.append(f"read back differently: {value!r:.80}")
                continue
            status = ItemStatus.PUBLISHED if scan.verdict == "publish" else ItemStatus.HELD
            if item.status != status:
                problems.append(f"{item.status} instead of {status}: {value!r:.80}")
            receipt = fetch(client, problems, "GET", response.headers["Location"], value)
            if receipt is None:
                continue
            receipt_html = receipt.get_data(as_text=True)
            if opinion.receipt_code not in receipt_html:
                problems.append(f"receipt page without its code: {value!r:.80}")
            if problem := escaped_problem(receipt_html, value):
                problems.append(f"receipt page {problem}")
            if item.status == ItemStatus.PUBLISHED:
                published.append((value, item.public_text))
                if linkify_text(item.public_text) not in receipt_html:
                    problems.append(f"receipt page does not show the text: {value!r:.80}")
        elif response.status_code == 422 and error_summary(response):
            if count(db, Opinion) != before:
                problems.append(f"refused but stored: {value!r:.80}")
            if not expected and not invisible_only(value):
                problems.append(f"refused without a rule: {value!r:.80}")
            for message in expected:
                if str(escape(message)) not in html:
                    problems.append(f"refused without saying {message!r}: {value!r:.80}")
            if value and str(escape(value)) not in html:
                problems.append(f"the text was not kept for the author: {value!r:.80}")
        else:
            problems.append(f"{response.status_code} without an error summary: {value!r:.80}")

    # Everything published is on the consultation's pages, escaped.
    reader = app.test_client()
    pages = -(-len(published) // OPINIONS_PER_PAGE)
    html = "".join(
        reader.get(path, query_string={"page": n}).get_data(as_text=True)
        for n in range(1, pages + 1)
    )
    for value, public_text in published:
        if linkify_text(public_text) not in html:
            problems.append(f"not on the consultation page: {value!r:.80}")
        if problem := escaped_problem(html, value):
            problems.append(f"consultation page {problem}")
    problems.check()
    assert published, "no naughty string was published at all"


def valid_consultation() -> dict:
    now = utcnow()
    return {
        "title": "声区公園整備計画（案）",
        "summary": "ご意見を募集します。",
        "department": "都市整備部 公園課",
        "contact": "電話 03-0000-0000",
        "topics": "公園, 子育て",
        "area": "",
        "opens_at": tokyo(now - timedelta(days=1)),
        "closes_at": tokyo(now + timedelta(days=30)),
        "draft": DRAFT,
    }


def staff_field_accepts(name: str, value: str) -> bool:
    limit, multiline, required = STAFF_FIELDS[name]
    if not has_visible(value):
        return not required  # nothing visible: not given (optional) or blank (required)
    return len(value) <= limit and not has_controls(value, multiline)


def test_staff_consultation_form(client, db, naughty, logged_in):
    logged_in(Role.STAFF)
    token = csrf_token(client, "/consultations/new")
    valid = valid_consultation()
    problems = Problems()
    cases = [(name, value, value) for value in naughty for name in STAFF_FIELDS]
    # a heading line of the draft: each '# ' line becomes a section heading
    cases += [("draft", value, f"# {value}\n{value}") for value in naughty]
    for name, value, sent in cases:
        before = count(db, Consultation)
        response = fetch(
            client,
            problems,
            "POST",
            "/consultations/new",
            f"{name}: {value}",
            data={**valid, name: sent, "csrf_token": token},
        )
        if response is None:
            continue
        html = response.get_data(as_text=True)
        if problem := escaped_problem(html, value):
            problems.append(f"{name}: {problem}")
        accepts = staff_field_accepts(name, sent)
        # a heading longer than its column may be refused or shortened, never stored whole
        long_heading = name == "draft" and any(
            len(heading) > HEADING_MAX for heading, _body in operations.parse_draft(sent)
        )
        if response.status_code == 302:
            if not accepts:
                problems.append(f"{name}: accepted {value!r:.80}")
            consultation_id = int(response.headers["Location"].rsplit("/", 1)[1])
            db.session.rollback()
            consultation = db.session.get(Consultation, consultation_id)
            if name == "draft":
                stored = [(s.heading, s.body) for s in consultation.sections]
                if any(len(heading) > HEADING_MAX for heading, _body in stored):
                    problems.append(f"draft: heading over {HEADING_MAX} stored: {value!r:.80}")
                elif not long_heading and stored != operations.parse_draft(sent):
                    problems.append(f"draft: sections differ for {value!r:.80}")
            elif getattr(consultation, name) != (value if has_visible(value) else ""):
                problems.append(f"{name}: read back {getattr(consultation, name)!r:.80}")
            if MARKUP & set(value):
                page = fetch(client, problems, "GET", f"/consultations/{consultation_id}", value)
                if page is not None:
                    if page.status_code != 200:
                        problems.append(f"{name}: show page {page.status_code}: {value!r:.80}")
                    elif problem := escaped_problem(page.get_data(as_text=True), value):
                        problems.append(f"{name}: show page {problem}")
        elif response.status_code == 200 and error_summary(response):
            if accepts and not long_heading:
                problems.append(f"{name}: refused {value!r:.80}")
            if count(db, Consultation) != before:
                problems.append(f"{name}: refused but stored {value!r:.80}")
        else:
            problems.append(f"{name}: {response.status_code} without an error summary")
    problems.check()


def test_receipt_lookup_and_search(client, db, naughty, open_consultation):
    problems = Problems()
    for value in naughty:
        response = fetch(
            client,
            problems,
            "GET",
            "/consultations/receipts",
            value,
            query_string={"code": value},
        )
        if response is not None:
            html = response.get_data(as_text=True)
            # no opinion exists, so every code is refused with a message
            if response.status_code != 200 or not error_summary(response):
                problems.append(f"receipt lookup {response.status_code}: {value!r:.80}")
            elif not (
                "受付番号を入力してください。" in html or "この受付番号の意見はありません" in html
            ):
                problems.append(f"receipt lookup without a reason: {value!r:.80}")
            if problem := escaped_problem(html, value):
                problems.append(f"receipt lookup {problem}")

        response = fetch(
            client, problems, "GET", "/consultations/", value, query_string={"q": value}
        )
        if response is not None:
            html = response.get_data(as_text=True)
            if response.status_code != 200:
                problems.append(f"search {response.status_code}: {value!r:.80}")
            for shown in (value, value.strip()[:100]):
                if problem := escaped_problem(html, shown):
                    problems.append(f"search {problem}")
    problems.check()
