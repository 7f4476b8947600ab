"""The Big List of Naughty Strings in every text the results of a consultation take.

In the review form (the ward's view, the summary of a group of opinions, the reason for the
disposition, and the choices), in each section of the final text, in a PDF's link text and file
name, and in the query strings and paths of the review and results pages. Each string is either
stored and read back exactly, or refused with a message saying why and nothing stored; never a
500, never echoed unescaped.
"""

from __future__ import annotations

import html as htmllib
import io
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from jinja2.filters import do_truncate
from markupsafe import escape
from sqlalchemy import event, select
from werkzeug.http import parse_options_header

import moderation
from app.auth.models import Role
from app.consultations import operations
from app.consultations.attachments import safe_filename
from app.consultations.models import Answer, Attachment, Disposition, Opinion, Section, State
from app.consultations.results import ROWS_PER_PAGE
from app.consultations.review_forms import ANSWER_MAX, FINAL_MAX, REASON_MAX, SUMMARY_MAX
from app.consultations.review_routes import REVIEW_PER_PAGE
from app.moderation.models import ItemStatus
from app.validators import has_visible
from moderation import linkify_text
from tests.conftest import create_open_consultation, csrf_token, login
from tests.test_consultations_naughty import (
    CONTROLS,
    TOO_LONG,
    Problems,
    count,
    error_summary,
    escaped_problem,
    fetch,
    has_controls,
)

BLNS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "naughty-strings" / "blns.json"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
NO_REASON = "対応の理由を入力してください。"
NO_VIEW = "区の考え方を書くか、既に書いたものを選んでください。"
NOT_LISTED = "一覧から選んでください。"
NO_TICK = "意見を1件以上選んでください。"
NOT_HERE = "それらの意見にはここで回答できません。"
NO_TITLE = "リンクの文字を入力してください。"
TITLE_MAX = Attachment.__table__.c.title.type.length  # 200
TITLE_TOO_LONG = f"{TITLE_MAX}文字以内で入力してください。"
NO_FILE = "PDFファイルを選んでください。"
FILENAME_MAX = Attachment.__table__.c.filename.type.length
#: review field → its length limit (all three are multiline)
REVIEW_TEXT = {"summary": SUMMARY_MAX, "body": ANSWER_MAX, "reason": REASON_MAX}
VALID_REVIEW = {
    "answer": "new",
    "summary": "通学路の照明についてのご意見",
    "body": "照明の増設は、通学路から順に進めます。",
    "disposition": Disposition.REFLECTED.value,
    "reason": "ご意見を踏まえ、第3章に通学路を明記しました。",
}
DISPOSITION_VALUES = {d.value for d in Disposition}
PAGE = re.compile(r"[1-9][0-9]{0,5}")
#: values checked per look at the result pages: one answered opinion (or one section) each
BATCH = min(ROWS_PER_PAGE, REVIEW_PER_PAGE)
#: sections of the draft in the final-text test: a batch fills one each, then one look at the diff
SECTIONS = 10
#: the multipart encoder of the test client writes a file name inside quotes as it is
NOT_SENT_AS_IS = set('"\\\r\n')


@pytest.fixture(scope="module")
def naughty() -> list[str]:
    if not BLNS.exists():
        pytest.fail(f"{BLNS} is missing: the datasets live in ../shared beside the project")
    return json.loads(BLNS.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def commits_without_waiting_for_the_disk(db):
    """Thousands of requests here each commit; a test database needs no durability, so its
    connections do not wait for the disk (what is stored and read back is unchanged)."""
    statement = {
        "sqlite": "PRAGMA synchronous = OFF",
        "postgresql": "SET synchronous_commit TO OFF",
    }.get(db.engine.dialect.name)
    if statement is None:
        yield
        return

    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()

    event.listen(db.engine, "connect", on_connect)
    db.session.remove()
    db.engine.dispose()  # new connections, with the setting
    yield
    event.remove(db.engine, "connect", on_connect)


def around(limit: int) -> list[str]:
    """A markup-laden text exactly at ``limit`` characters and one over it."""
    text = '<b title="x">声区&amp;</b>\n' * (limit // 20 + 2)
    return [text[:limit], text[: limit + 1]]


def make_closed(app, db, make_user, *, opinions: int = 1, draft: str | None = None):
    """(staff client, a closed consultation, its published opinions about its last section)."""
    staff = make_user(role=Role.STAFF)
    consultation = create_open_consultation(staff, **({"draft": draft} if draft else {}))
    author = make_user()
    sent = []
    for n in range(opinions):
        opinion, _ = operations.submit_opinion(
            consultation,
            author,
            moderation.scan(f"通学路の照明を先に増やしてください（その{n + 1}）。"),
            section=consultation.sections[-1],
        )
        sent.append(opinion)
    db.session.commit()
    assert all(operations.item_of(o).status == ItemStatus.PUBLISHED for o in sent)
    consultation.move(State.CLOSED)
    db.session.commit()
    client = app.test_client()
    assert login(client, staff.email).status_code == 302
    return client, consultation, sent


@pytest.fixture
def closed(app, db, make_user):
    """(staff client, a closed consultation with three sections, its one opinion)."""
    client, consultation, sent = make_closed(app, db, make_user)
    return client, consultation, sent[0]


def answer_state(db, opinion_id: int) -> tuple:
    """What the review form writes for an opinion: its answer, disposition and reason."""
    db.session.rollback()  # see what the requests committed
    opinion = db.session.get(Opinion, opinion_id)
    answer = opinion.answer
    return (
        opinion.answer_id,
        opinion.disposition,
        opinion.disposition_reason,
        answer.summary if answer else None,
        answer.body if answer else None,
    )


def review_expected(name: str, value: str) -> list[str]:
    """The messages the review form must give for ``value`` in field ``name`` (none: stored)."""
    if not has_visible(value):
        # nothing visible: an optional summary is not given; the view and the reason are missing
        return {"summary": [], "body": [NO_VIEW], "reason": [NO_REASON]}[name]
    expected = []
    if len(value) > REVIEW_TEXT[name]:
        expected.append(TOO_LONG)
    if has_controls(value, multiline=True):
        expected.append(CONTROLS)
    return expected


def block(page: str, opening: str, closing: str) -> str:
    """The part of ``page`` from ``opening`` to the next ``closing`` ("" if absent).

    Stored text is escaped, so it cannot close the element early.
    """
    start = page.find(opening)
    if start < 0:
        return ""
    end = page.find(closing, start)
    return page[start : end if end >= 0 else len(page)]


def check_answer_pages(app, client, problems, consultation, accepted) -> None:
    """Each accepted value of a batch is on the results preview and the review page, escaped.

    ``accepted``: (field, value, opinion id, answer id, what was stored); one opinion each.
    """
    base = f"/consultations/{consultation.id}"
    results_page = fetch(client, problems, "GET", f"{base}/results", "a batch")
    review_page = fetch(client, problems, "GET", f"{base}/review?show=all", "a batch")
    if results_page is None or review_page is None:
        return
    if results_page.status_code != 200 or review_page.status_code != 200:
        problems.append(f"pages {results_page.status_code}, {review_page.status_code}")
        return
    results_html = results_page.get_data(as_text=True)
    review_html = review_page.get_data(as_text=True)
    for name, value, opinion_id, answer_id, stored in accepted:
        label = f"{name}: {value!r:.80}"
        for where, page in (("results", results_html), ("review", review_html)):
            if problem := escaped_problem(page, value):
                problems.append(f"{where} page {problem} ({name})")
        group = block(results_html, f'aria-labelledby="answer-{answer_id}-', "</article>")
        line = block(group, f'<li id="opinion-{opinion_id}">', "</li>")
        card = block(review_html, f'<li class="card" id="opinion-{opinion_id}">', "</li>")
        if name == "summary":
            found = {"results": not stored or f'<p class="pre">{escape(stored)}</p>' in group}
        elif name == "body":
            shown = escape(do_truncate(app.jinja_env, stored, 80))
            found = {
                "results": f'<p class="pre">{linkify_text(stored)}</p>' in group,
                "review": f"</a>: {shown}</p>" in card,
            }
        else:
            found = {
                "results": f"</strong> — {escape(stored)}</p>" in line,
                "review": f" — {escape(stored)}</p>" in card,
            }
        for where, ok in found.items():
            if not ok:
                problems.append(f"not shown on the {where} page: {label}")


def review_tries(values: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """(fields, value): a value every field treats alike goes in all three at once (each
    field's own outcome is still checked), otherwise in one field at a time."""
    tries = []
    for value in values:
        outcomes = {tuple(review_expected(name, value)) for name in REVIEW_TEXT}
        if len(outcomes) == 1:
            tries.append((tuple(REVIEW_TEXT), value))
        else:
            tries += [((name,), value) for name in REVIEW_TEXT]
    return tries


def test_review_text_fields(app, db, naughty, make_user):
    """Each value in the summary, the ward's view and the reason, the other fields valid (or,
    where all three treat a value alike, in all three at once; see ``review_tries``).

    The values of a batch answer one opinion each, so that one look at the results preview and
    at the review page checks the whole batch.
    """
    client, consultation, opinions = make_closed(app, db, make_user, opinions=BATCH)
    path = f"/consultations/{consultation.id}/review?show=all"  # answered opinions stay listed
    token = csrf_token(client, path)
    problems = Problems()
    tries = review_tries([*naughty, *(v for limit in REVIEW_TEXT.values() for v in around(limit))])
    states = {o.id: answer_state(db, o.id) for o in opinions}
    accepted = []
    tally = Counter()
    for n, (fields, value) in enumerate(tries):
        opinion = opinions[n % BATCH]
        label = f"{'+'.join(fields)}: {value!r:.80}"
        expected = {name: review_expected(name, value) for name in fields}
        data = {**VALID_REVIEW, "opinions": [str(opinion.id)], "csrf_token": token}
        data.update(dict.fromkeys(fields, value))
        response = fetch(client, problems, "POST", path, label, data=data)
        if response is not None:
            page = response.get_data(as_text=True)
            if problem := escaped_problem(page, value):
                problems.append(f"{label}: {problem}")
            before, after = states[opinion.id], answer_state(db, opinion.id)
            states[opinion.id] = after
            tally[response.status_code] += 1
            if response.status_code == 302:
                answer_id, disposition, reason, summary, body = after
                for name in fields:
                    if expected[name]:
                        problems.append(f"{name} accepted, expected {expected[name]}: {label}")
                    stored = {"summary": summary, "body": body, "reason": reason}[name]
                    # nothing visible in the optional summary is stored as no summary
                    want = value if has_visible(value) or name != "summary" else ""
                    if stored != want:
                        problems.append(f"{name} read back {stored!r:.80}: {label}")
                    else:
                        accepted.append((name, value, opinion.id, answer_id, stored))
                # a new answer each time: the one it replaces is tidied away
                if disposition != Disposition.REFLECTED or count(db, Answer) > BATCH:
                    problems.append(f"{count(db, Answer)} answers, {disposition}: {label}")
            elif response.status_code == 422 and error_summary(response):
                if after != before:
                    problems.append(f"refused but stored: {label}")
                if not any(expected.values()):
                    problems.append(f"refused without a rule: {label}")
                for name in fields:
                    errors = block(page, f'<p class="error" id="{name}-error">', "</p>")
                    for message in expected[name] or [""]:
                        if message not in errors or (not message and errors):
                            problems.append(f"{name}: {message or 'no error'} expected: {label}")
                # kept for the author (an optional field with nothing visible is dropped)
                if has_visible(value) and str(escape(value)) not in page:
                    problems.append(f"not kept in the form: {label}")
            else:
                problems.append(f"{response.status_code} without an error summary: {label}")
        if n % BATCH == BATCH - 1 or n == len(tries) - 1:
            check_answer_pages(app, client, problems, consultation, accepted)
            tally["shown"] += len(accepted)
            accepted = []
    problems.check()
    assert tally["shown"] > len(naughty) and tally[422] > 0, tally


def test_review_choices(db, naughty, closed):
    """Naughty ticks, answers and dispositions are refused with a message, never a 500.

    A value that does not read as a number ticks nothing, so it goes in all three fields at
    once; a number is tried as the tick alone (the others valid), since it reaches the database.
    """
    client, consultation, opinion = closed
    path = f"/consultations/{consultation.id}/review?show=all"
    token = csrf_token(client, path)
    valid = {**VALID_REVIEW, "opinions": [str(opinion.id)], "csrf_token": token}
    problems = Problems()
    for value in naughty:
        try:
            parsed = int(value)
        except ValueError:
            parsed = None
        tries = [{"opinions": value}] if parsed is not None else []
        tries.append(
            {"answer": value, "disposition": value, **({} if tries else {"opinions": value})}
        )
        for fields in tries:
            label = f"{', '.join(fields)}: {value!r:.80}"
            db.session.rollback()
            answers = {"new", *(str(i) for i in db.session.scalars(select(Answer.id)))}
            bad = [
                name
                for name, ok in (("answer", answers), ("disposition", DISPOSITION_VALUES))
                if name in fields and value not in ok
            ]
            before = answer_state(db, opinion.id)
            response = fetch(client, problems, "POST", path, label, data={**valid, **fields})
            if response is None:
                continue
            page = response.get_data(as_text=True)
            if problem := escaped_problem(page, value):
                problems.append(f"{label}: {problem}")
            ticks_it = "opinions" not in fields or parsed == opinion.id
            if response.status_code == 302:
                if bad or not ticks_it:
                    problems.append(f"accepted: {label}")
                continue
            if response.status_code != 422:
                problems.append(f"{response.status_code}: {label}")
                continue
            if answer_state(db, opinion.id) != before:
                problems.append(f"refused but stored: {label}")
            for name in bad:
                if NOT_LISTED not in block(page, f'<p class="error" id="{name}-error">', "</p>"):
                    problems.append(f"{name} refused without saying {NOT_LISTED!r}: {label}")
            if not bad and ticks_it:
                problems.append(f"refused: {label}")
            elif not ticks_it and NO_TICK not in page and NOT_HERE not in page:
                problems.append(f"the tick refused without a reason: {label}")
    problems.check()


def shown_final_text(page: str, section_id: int) -> str | None:
    """The text a reader gets from a section of the diff: the draft without <del>, with <ins>."""
    match = re.search(
        rf'<section class="draft-section" id="diff-{section_id}".*?'
        r'<p class="pre diff">(.*?)</p>\s*</section>',
        page,
        re.S,
    )
    if match is None:
        return None
    inner = re.sub(r"<del>.*?</del>", "", match.group(1), flags=re.S)
    inner = re.sub(r'<span class="visually-hidden">[^<]*</span>', "", inner)
    inner = inner.replace("<ins>", "").replace("</ins>", "")
    if "<" in inner or ">" in inner:
        return None  # markup that is not the diff's own: the text was not escaped
    return htmllib.unescape(inner)


def test_final_text(app, db, naughty, make_user):
    """Each value as a section's final text (the others as they are); a batch fills one
    section each, then one look at the results preview checks the diff of every section."""
    draft = "\n\n".join(f"# 第{n}章\n第{n}章の本文です。" for n in range(1, SECTIONS + 1))
    client, consultation, _opinions = make_closed(app, db, make_user, draft=draft)
    path = f"/consultations/{consultation.id}/final"
    results_path = f"/consultations/{consultation.id}/results"
    token = csrf_token(client, path)
    sections = [(s.id, s.body) for s in consultation.sections]
    assert len(sections) == SECTIONS

    def finals() -> list[str | None]:
        db.session.rollback()  # see what the requests committed
        stored = dict(
            db.session.execute(
                select(Section.id, Section.final_body).where(
                    Section.consultation_id == consultation.id
                )
            ).all()
        )
        return [stored[i] for i, _ in sections]

    problems = Problems()
    values = [*naughty, *around(FINAL_MAX)]
    accepted = []  # (section index, value)
    tally = Counter()
    after = finals()
    for n, value in enumerate(values):
        k = n % SECTIONS
        label = f"{value!r:.80}"
        expected = []
        if len(value) > FINAL_MAX:
            expected.append(TOO_LONG)
        if has_controls(value, multiline=True):
            expected.append(CONTROLS)
        before = after
        # the form as staff see it, with this section changed
        data = {
            f"sections-{j}": body if final is None else final
            for j, ((_i, body), final) in enumerate(zip(sections, before, strict=True))
        }
        data[f"sections-{k}"] = value
        response = fetch(client, problems, "POST", path, label, data={**data, "csrf_token": token})
        after = finals()
        if response is not None:
            page = response.get_data(as_text=True)
            if problem := escaped_problem(page, value):
                problems.append(f"final page {problem}")
            tally[response.status_code] += 1
            if response.status_code == 302:
                if expected:
                    problems.append(f"accepted, expected {expected}: {label}")
                draft_body = sections[k][1]
                want = None if value.strip() == draft_body.strip() else value.strip()
                if after != [*before[:k], want, *before[k + 1 :]]:
                    problems.append(f"read back {after[k]!r:.80}: {label}")
                else:
                    accepted.append((k, value))
            elif response.status_code == 422 and error_summary(response):
                if after != before:
                    problems.append(f"refused but stored: {label}")
                if not expected:
                    problems.append(f"refused without a rule: {label}")
                errors = block(page, f'<p class="error" id="sections-{k}-error">', "</p>")
                for message in expected:
                    if message not in errors:
                        problems.append(f"refused without saying {message!r}: {label}")
                if value and str(escape(value)) not in page:
                    problems.append(f"not kept in the form: {label}")
            else:
                problems.append(f"{response.status_code} without an error summary: {label}")
        if accepted and (k == SECTIONS - 1 or n == len(values) - 1):
            shown = fetch(client, problems, "GET", results_path, "a batch")
            if shown is not None and shown.status_code != 200:
                problems.append(f"results page {shown.status_code}")
            elif shown is not None:
                results_page = shown.get_data(as_text=True)
                for j, value in accepted:
                    section_id, body = sections[j]
                    final = body if after[j] is None else after[j]
                    if shown_final_text(results_page, section_id) != final:
                        problems.append(f"the diff does not read as the final text: {value!r:.80}")
                    if problem := escaped_problem(results_page, value):
                        problems.append(f"results page {problem}")
                tally["shown"] += len(accepted)
            accepted = []
    problems.check()
    assert tally["shown"] > len(naughty) // 2 and tally[422] > 0, tally


def name_problem(name: str) -> str | None:
    """What is wrong with a download name, if anything."""
    if not isinstance(name, str) or not name.endswith(".pdf") or len(name) > FILENAME_MAX:
        return f"not a short .pdf name: {name!r:.80}"
    if set("/\\\x00") & set(name) or any(unicodedata.category(c) == "Cc" for c in name):
        return f"a path or control character in {name!r:.80}"
    return None


def test_safe_filename_never_fails(naughty):
    problems = Problems()
    for value in [*naughty, *(f"{v}.pdf" for v in naughty), *(f"{v}/{v}.PDF" for v in naughty)]:
        try:
            name = safe_filename(value)
        except Exception as exc:
            problems.append(f"{type(exc).__name__}: {exc!s:.100} for {value!r:.80}")
            continue
        if problem := name_problem(name):
            problems.append(f"{problem} from {value!r:.80}")
    problems.check()


def title_expected(value: str) -> list[str]:
    """The messages the link text must give for ``value`` (none: stored)."""
    if not has_visible(value):
        return [NO_TITLE]
    expected = [TITLE_TOO_LONG] if len(value) > TITLE_MAX else []
    if has_controls(value, multiline=False):
        expected.append(CONTROLS)
    return expected


def check_download(client, problems, consultation, attachment, label) -> None:
    """The PDF comes back whole, under a Content-Disposition that says its stored name."""
    path = f"/consultations/{consultation.id}/attachments/{attachment.id}"
    download = fetch(client, problems, "GET", path, label)
    if download is None:
        return
    header = download.headers.get("Content-Disposition", "")
    if download.status_code != 200 or download.data != PDF:
        problems.append(f"download {download.status_code}: {label}")
    elif set("\r\n\x00") & set(header) or not header.isascii():
        problems.append(f"Content-Disposition {header!r:.100}: {label}")
    else:
        kind, options = parse_options_header(header)
        if kind != "inline" or options.get("filename") != attachment.filename:
            problems.append(f"Content-Disposition {header!r:.100}: {label}")


def test_attachment_titles_and_filenames(db, naughty, closed):
    """Each value as a PDF's link text and as its file name.

    The link text is checked by the form and the file name only made safe, so a value the link
    text takes goes in both at once; otherwise the file name is tried again on its own.
    """
    client, consultation, _opinion = closed
    path = f"/consultations/{consultation.id}/attachments"
    token = csrf_token(client, path)
    problems = Problems()
    titled = []  # (attachment id, link text), looked at together at the end
    tally = Counter()
    downloaded = set()
    tries = []  # (link text, file name, the value)
    for value in naughty:
        tries.append((value, value if not title_expected(value) else "資料.pdf", value))
        if title_expected(value):
            tries.append(("資料", value, value))
    tries += [(value, "資料.pdf", value) for value in around(TITLE_MAX)]
    for title, filename, value in tries:
        label = f"title {title!r:.60}, file name {filename!r:.60}"
        expected = title_expected(title)
        # a browser sends an empty name when no file is chosen
        expected += [NO_FILE] if filename == "" else []
        before = count(db, Attachment)
        response = fetch(
            client,
            problems,
            "POST",
            path,
            label,
            data={"csrf_token": token, "title": title, "file": (io.BytesIO(PDF), filename)},
            content_type="multipart/form-data",
        )
        if response is None:
            continue
        page = response.get_data(as_text=True)
        # the list of documents is looked at item by item at the end
        form_part = re.sub(r'<ul class="documents">.*?</ul>', "", page, flags=re.S)
        if problem := escaped_problem(form_part, value):
            problems.append(f"{label}: {problem}")
        db.session.rollback()  # see what the request committed
        tally[response.status_code] += 1
        if response.status_code == 302:
            if expected:
                problems.append(f"accepted, expected {expected}: {label}")
            attachment = db.session.scalar(select(Attachment).order_by(Attachment.id.desc()))
            if attachment.title != title:
                problems.append(f"read back {attachment.title!r:.80}: {label}")
            elif title == value:
                titled.append((attachment.id, value))
            if problem := name_problem(attachment.filename):
                problems.append(f"{problem}: {label}")
            # the test client writes the name between quotes as it is: some names arrive changed
            elif not NOT_SENT_AS_IS & set(filename) and attachment.filename != safe_filename(
                filename
            ):
                problems.append(f"stored as {attachment.filename!r:.80}: {label}")
            # the header depends on the name only: each name is downloaded once
            if attachment.filename not in downloaded:
                downloaded.add(attachment.filename)
                check_download(client, problems, consultation, attachment, label)
        elif response.status_code == 422 and error_summary(response):
            if count(db, Attachment) != before:
                problems.append(f"refused but stored: {label}")
            if not expected and not NOT_SENT_AS_IS & set(filename):
                problems.append(f"refused without a rule: {label}")
            for message in expected:
                if message not in page:
                    problems.append(f"refused without saying {message!r}: {label}")
            if title and str(escape(title)) not in page:
                problems.append(f"not kept in the form: {label}")
        elif response.status_code != 400 or not NOT_SENT_AS_IS & set(filename):
            # 400: a name that breaks the multipart body itself
            problems.append(f"{response.status_code} without an error summary: {label}")
    # every link is on the staff page and the consultation's page, escaped (each attachment's
    # own <li> is checked: titles side by side can spell a naughty string between them)
    for where in (path, f"/consultations/{consultation.id}"):
        shown = fetch(client, problems, "GET", where, "every title")
        if shown is None or shown.status_code != 200:
            problems.append(f"{where}: {shown and shown.status_code}")
            continue
        page = shown.get_data(as_text=True)
        for attachment_id, value in titled:
            href = f'<a href="/consultations/{consultation.id}/attachments/{attachment_id}"'
            item = block(page, href, "</li>")
            wanted = [f'type="application/pdf">{escape(value)}</a>']
            if where == path:  # the remove button is named after the document
                wanted.append(f'aria-label="{escape(value)} を削除"')
            if any(w not in item for w in wanted):
                problems.append(f"{where} without the link: {value!r:.80}")
            if problem := escaped_problem(item, value):
                problems.append(f"{where} title: {problem}")
    problems.check()
    assert len(titled) > len(naughty) // 2 and tally[422] > 0, tally


def test_query_strings_and_paths(db, naughty, closed):
    client, consultation, _opinion = closed
    base = f"/consultations/{consultation.id}"
    problems = Problems()
    for value in naughty:
        checks = [
            (f"{base}/review", {"section": value, "show": value}, {200}),
            # a page number is shown; anything else may be not found (app.security)
            (f"{base}/results", {"page": value}, {200} if PAGE.fullmatch(value) else {200, 404}),
            (f"{base}/results/opinions/{quote(value, safe='')}", None, {302, 404}),
        ]
        for where, query, statuses in checks:
            response = fetch(client, problems, "GET", where, value, query_string=query)
            if response is None:
                continue
            if response.status_code not in statuses:
                problems.append(f"GET {where} {response.status_code}: {value!r:.80}")
            if problem := escaped_problem(response.get_data(as_text=True), value):
                problems.append(f"GET {where} {problem}")
    problems.check()
