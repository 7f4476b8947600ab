"""Every link leads somewhere: a crawler walks the pages of the demo data as each role sees
them (a visitor, a resident, staff, a moderator, an admin) and follows every link it is shown;
none may answer 403, 404 or a server error. The places browsers and crawlers look for on their
own (/favicon.ico, /robots.txt) answer too."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from sqlalchemy import select

from app import jobs
from app.auth import operations as auth_ops
from app.cli import DEMO_PASSWORD
from app.consultations import operations as consultation_ops
from app.consultations.models import State
from app.forms import operations as forms_ops
from app.forms.models import OnlineForm
from app.moderation import operations as moderation_ops
from tests.conftest import PHONE_TEXT, create_open_consultation, login, post_form

#: where the media service and the web server answer, not the Flask app
ELSEWHERE = ("/hls/", "/media/")
#: the same page for another record: a few of each are enough to find a broken kind of link
PER_KIND = 3
MOST_PAGES = 400


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.found.append(href)


def links_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.found


def kind_of(url: str) -> str:
    """The page a URL shows, whatever record: /consultations/7 → /consultations/N."""
    parts = urlsplit(url)
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(sorted(
        name.split("=")[0] for name in parts.query.split("&")
    )) if parts.query else "")  # fmt: skip


def crawl(client) -> tuple[dict[str, tuple[int, str]], int]:
    """Follow every link on the site from the home page; return the broken ones (status and
    the page that showed the link) and how many pages were read."""
    seen, kinds = {"/"}, {}
    queue: deque[tuple[str, str]] = deque([("/", "(start)")])
    broken: dict[str, tuple[int, str]] = {}
    read = 0
    while queue and read < MOST_PAGES:
        url, source = queue.popleft()
        response = client.get(url, follow_redirects=True)
        read += 1
        if response.status_code in (403, 404) or response.status_code >= 500:
            broken[url] = (response.status_code, source)
            continue
        if not response.content_type.startswith("text/html"):
            continue
        page = response.request.path + (
            "?" + response.request.query_string.decode() if response.request.query_string else ""
        )
        for href in links_of(response.get_data(as_text=True)):
            target, _fragment = urldefrag(urljoin(page, href))
            parts = urlsplit(target)
            if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost"):
                continue  # mailto:, tel:, other sites
            target = parts.path + ("?" + parts.query if parts.query else "")
            if not target or target in seen or target.startswith(ELSEWHERE):
                continue
            kind = kind_of(target)
            if kinds.get(kind, 0) >= PER_KIND:
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            seen.add(target)
            queue.append((target, page))
    return broken, read


@pytest.fixture
def demo(app, db, mailbox):
    """The demo content of `make run` (koe seed-demo) once the jobs worker has grouped the
    opinions into themes, and a consultation that has closed (its review and preview)."""
    result = app.test_cli_runner().invoke(args=["koe", "seed-demo"])
    assert result.exit_code == 0, result.output
    jobs.run_pending()
    staff = auth_ops.find_by_email("staff@demo.koe.example")
    closed = create_open_consultation(staff, title="声区図書館サービス計画（案）")
    resident = auth_ops.find_by_email("resident@demo.koe.example")
    for text in ("閉館時間を延ばしてください。", PHONE_TEXT):  # the second waits for a moderator
        scan = moderation_ops.scan_text(text, None, spam=False)
        consultation_ops.submit_opinion(closed, resident, scan)
    consultation_ops.move(closed, State.CLOSED, staff)
    # a form of a department the demo staff is not in, built by someone else: its answers are
    # not theirs to read, so no page may link them
    survey = db.session.scalar(select(OnlineForm))
    admin = auth_ops.find_by_email("admin@demo.koe.example")
    forms_ops.copy(survey, admin, "子育て支援アンケート").department = "子ども家庭部 子育て支援課"
    db.session.commit()


@pytest.mark.parametrize("role", [None, "resident", "staff", "moderator", "admin"])
def test_every_link_shown_leads_somewhere(client, demo, role):
    if role is not None:
        response = login(client, f"{role}@demo.koe.example", DEMO_PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    broken, read = crawl(client)
    assert read > 30  # the crawl went through the site, not only the home page
    assert not broken, "\n".join(
        f"{status} {url}  (linked from {source})" for url, (status, source) in broken.items()
    )
    if role is not None:
        post_form(client, "/auth/logout", {})


def test_favicon_and_robots_answer(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content_type.startswith("image/")
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an icon file, as browsers expect there
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and robots.content_type.startswith("text/plain")
    text = robots.get_data(as_text=True)
    assert "User-agent: *" in text and "Disallow: /admin/" in text
    assert "Disallow: /consultations/\n" not in text  # the public pages stay open to search
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
