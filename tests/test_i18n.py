"""Both catalogues are complete, pages come in both languages, dates show in Asia/Tokyo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask_babel import force_locale

from app.auth.models import Role
from app.i18n import tokyo_datetime, tokyo_time

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [
    ("app/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]


@pytest.fixture(scope="module")
def source_messages() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map=METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    assert len(found) > 150
    return found


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_catalogue_is_complete(source_messages, locale):
    path = ROOT / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert "fuzzy" not in message.flags, f"{locale}: fuzzy: {msgid!r}"
        assert all(strings), f"{locale}: untranslated: {msgid!r}"
        python_format(catalog, message)  # placeholders match the source
        translated[msgid] = strings
    missing = source_messages - translated.keys()
    assert not missing, f"{locale}: not in the catalogue: {sorted(missing)}"


def test_japanese_is_the_default_and_english_is_offered(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="ja"' in html and "本文へ移動" in html
    html = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en"' in html and "Skip to main content" in html


def test_every_page_renders_in_both_languages(app, client, logged_in):
    pages = [
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in r.methods and not r.arguments and r.endpoint != "static"
    ]
    assert len(pages) >= 10

    def visit(expected):
        for lang in ("ja", "en"):
            for page in pages:
                response = client.get(page, headers={"Accept-Language": lang})
                code = response.status_code
                assert code in expected(page), (lang, page, code)
                if code == 200 and response.mimetype == "text/html":
                    assert f'<html lang="{lang}"' in response.get_data(as_text=True)

    private = (
        "/account",
        "/admin",
        "/moderation",
        "/consultations/new",
        "/consultations/my-voice",
        "/forms/new",
        "/events/new",
        "/notifications",
    )
    # the forms' postal-code look-up (JSON) needs a code: without one, it says so
    # and the calendar without a month goes to this month's page
    needs_query = {"/forms/postal-address": {400}, "/events/calendar": {302}}
    visit(lambda page: {200, 302} if page.startswith(private) else needs_query.get(page, {200}))
    logged_in(Role.ADMIN)
    # signed in, the auth pages send you on; the outbox exists only without SMTP
    signed_in = {"/auth/login": {302}, "/auth/register": {302}, "/admin/outbox": {404}}
    visit(lambda page: signed_in.get(page, needs_query.get(page, {200})))


def test_the_chosen_language_sticks_to_the_account(client, db, logged_in):
    user = logged_in()
    from tests.conftest import post_form

    post_form(client, "/preferences/language", {"lang": "en", "next": "/account/"})
    db.session.expire_all()
    assert db.session.get(type(user), user.id).locale == "en"


def test_dates_show_in_tokyo(app):
    moment = datetime(2026, 1, 1, 15, 30, tzinfo=UTC)  # 00:30 on 2 January in Tokyo
    with app.test_request_context():
        with force_locale("ja"):
            assert tokyo_datetime(moment) == "2026年1月2日(金) 0:30"
            assert tokyo_time(moment) == "0:30"  # a calendar cell, a chat line: the same clock
        with force_locale("en"):
            assert tokyo_datetime(moment) == "Fri 2 Jan 2026, 00:30"
            assert tokyo_time(moment) == "00:30"
        naive_utc = moment.replace(tzinfo=None)  # as SQLite returns it
        with force_locale("ja"):
            assert tokyo_datetime(naive_utc) == tokyo_datetime(moment)


def test_english_catalogue_says_what_the_source_says():
    """The source strings are English, so an English entry that differs is a stale guess."""
    path = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id:
            assert message.string == message.id, message.id
