"""The e2e harness itself: axe finds violations, and unchecked pages are noticed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.e2e.conftest import PageRecord

BROKEN = """<!doctype html>
<html lang="en"><head><title>Broken</title></head>
<body><main><h1>Broken</h1><input id="nameless" type="text"></main></body></html>"""


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_axe_reports_violations(open_page, check_a11y, _pages, javascript):
    page = open_page(java_script_enabled=javascript)
    page.route("**/broken", lambda route: route.fulfill(content_type="text/html", body=BROKEN))
    page.goto("/broken")
    with pytest.raises(AssertionError, match=r"(?s)- label \(critical\).*#nameless"):
        check_a11y(page)
    _pages[page].visits[-1].checked = True  # the failure above was the expected outcome


def test_every_loaded_document_needs_a_check():
    main, child = SimpleNamespace(url=""), SimpleNamespace(url="http://h/frame")
    record = PageRecord(SimpleNamespace(main_frame=main), javascript=True)
    record.on_navigated(child)
    for url in ["http://h/", "http://h/#main", "http://h/login", "http://h/login"]:
        main.url = url
        record.on_navigated(main)
    # The fragment change kept the document; the form posted back to /login loaded a new one.
    assert record.unchecked() == ["http://h/", "http://h/login", "http://h/login"]
    record.visits[0].checked = True
    assert record.unchecked() == ["http://h/login", "http://h/login"]
