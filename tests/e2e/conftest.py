"""End-to-end fixtures: a live server, Chromium through Playwright, and axe-core on every page.

Every page a test visits must be checked with ``check_a11y(page)``: the ``open_page`` fixture
records each main-frame navigation and fails the test at teardown if one was never checked.
Without Chromium the tests are skipped, or fail when ``KOE_REQUIRE_E2E`` is set.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag

import pytest
from werkzeug.serving import make_server

from app import create_app, jobs
from app.extensions import db as _db
from tests.conftest import _empty_all_tables, free_port, make_config

E2E_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = E2E_DIR.parent.parent
AXE_PATH = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    # the presenter's camera and microphone in the stream's tests: Chromium's own test pattern
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
AXE_RUN = """async () => {
  const results = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    resultTypes: ['violations'],
  });
  return results.violations;
}"""


def pytest_collection_modifyitems(items):
    """Mark every test under tests/e2e with ``e2e``."""
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _unavailable(reason: str):
    if os.environ.get("KOE_REQUIRE_E2E"):
        pytest.fail(f"KOE_REQUIRE_E2E is set but {reason}", pytrace=False)
    pytest.skip(reason)


# --- live server ---------------------------------------------------------------------------


@pytest.fixture
def live_app(_schema, database_url, smtp_server, tmp_path):
    """Create the application the live server runs; empty the database after the test."""
    app = create_app(make_config(database_url, smtp_server.port, tmp_path))
    yield app
    with app.app_context():
        _db.session.remove()
        _empty_all_tables()
        _db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    """Serve the application on a free local port in a thread and yield its base URL."""
    server = make_server("127.0.0.1", free_port(), live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    live_app.config["BASE_URL"] = url  # the links in mails the worker sends
    # the jobs worker, as `make run` starts it beside the web process
    stop = threading.Event()
    worker = threading.Thread(
        target=jobs.work, args=(live_app, 0.2, stop), name="live-worker", daemon=True
    )
    worker.start()
    yield url
    stop.set()
    worker.join(timeout=10)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# --- browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def axe_source() -> str:
    """Return the source of axe-core from node_modules."""
    if not AXE_PATH.is_file():
        _unavailable(f"axe-core is not installed at {AXE_PATH} (run `npm ci`)")
    return AXE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser():
    """Launch headless Chromium (Debian's) once for the run."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(executable, os.X_OK):
        _unavailable("Chromium is not installed (apt-get install chromium, or `make browser`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@dataclass
class Visit:
    """One document loaded in a page's main frame."""

    url: str
    checked: bool = False


@dataclass
class PageRecord:
    """A page opened by a test, with its documents and whether axe has checked them."""

    page: object
    javascript: bool
    visits: list[Visit] = field(default_factory=list)

    def on_navigated(self, frame) -> None:
        if frame != self.page.main_frame:
            return
        # A change of fragment only (a skip link, an in-page anchor) keeps the same document.
        if self.visits:
            previous = self.visits[-1].url
            if frame.url != previous and urldefrag(frame.url).url == urldefrag(previous).url:
                return
        self.visits.append(Visit(frame.url))

    def unchecked(self) -> list[str]:
        return [visit.url for visit in self.visits if not visit.checked]


@pytest.fixture
def _pages():
    """Hold the records of the pages opened by this test."""
    return {}


@pytest.fixture
def open_page(browser, live_server, _pages, request, tmp_path):
    """Open pages: ``open_page(locale="en-US", java_script_enabled=False, viewport=...)``."""
    contexts = []

    def open_(locale: str = "ja-JP", **options):
        context = browser.new_context(
            base_url=live_server, bypass_csp=True, locale=locale, **options
        )
        contexts.append(context)
        page = context.new_page()
        record = PageRecord(page, javascript=options.get("java_script_enabled", True))
        page.on("framenavigated", record.on_navigated)
        _pages[page] = record
        return page

    yield open_

    failed = any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )
    if failed:
        for n, page in enumerate(_pages):
            if not page.is_closed():
                shot = tmp_path / f"page-{n}.png"
                page.screenshot(path=shot, full_page=True)
                print(f"screenshot of {page.url}: {shot}")
    unchecked = [url for record in _pages.values() for url in record.unchecked()]
    for context in contexts:
        context.close()
    if unchecked and not failed:
        pytest.fail(
            "pages visited without an axe check (call check_a11y(page) on each):\n"
            + "\n".join(f"  {url}" for url in unchecked),
            pytrace=False,
        )


@pytest.fixture
def page(open_page):
    """Open a page in a fresh Japanese browser context."""
    return open_page()


def format_violations(url: str, violations: list[dict]) -> str:
    """Describe axe violations: rule, impact, help and the selectors of each failing node."""
    lines = [f"axe found {len(violations)} accessibility violation(s) on {url}:"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " >>> ".join(
                " ".join(part) if isinstance(part, list) else part for part in node["target"]
            )
            lines.append(f"    {target}")
            summary = node.get("failureSummary") or ""
            lines.extend(f"        {line.strip()}" for line in summary.splitlines()[1:2])
    return "\n".join(lines)


@pytest.fixture
def check_a11y(browser, axe_source, _pages):
    """Run axe-core (WCAG 2.1 A and AA) on a page and assert that it finds no violation."""

    def run_axe(page) -> list[dict]:
        page.add_script_tag(content=axe_source)
        return page.evaluate(AXE_RUN)

    def run_axe_on_copy(page) -> list[dict]:
        # axe schedules its work with timers, which do not run in a page without JavaScript:
        # check a copy of the document, with the same URL, styles and viewport, instead.
        url = urldefrag(page.url).url
        html = page.content()
        context = browser.new_context(bypass_csp=True, viewport=page.viewport_size)
        try:
            copy = context.new_page()
            copy.route(
                lambda request_url: request_url == url,
                lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"),
            )
            copy.goto(url)
            return run_axe(copy)
        finally:
            context.close()

    def check(page) -> None:
        record = _pages[page]
        assert record.visits, "the page has not loaded anything yet"
        visit = record.visits[-1]
        page.wait_for_load_state("load")
        violations = run_axe(page) if record.javascript else run_axe_on_copy(page)
        assert not violations, format_violations(page.url, violations)
        visit.checked = True

    return check
