"""The per-process cache of rendered fragments (app/fragments.py) on the consultation page:
the same HTML as without it, never stale, and each visitor's own CSRF token in its forms."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.consultations import operations
from app.consultations.models import Opinion, Reaction
from app.fragments import cache
from app.moderation import operations as moderation_ops
from tests.conftest import create_open_consultation, login, post_form

REACTION_TOKEN = re.compile(
    r'class="reactions">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
)
TOKENS = re.compile(r'value="[^"]{20,}"')  # CSRF tokens and form keys


@pytest.fixture
def page(db, make_user):
    """An open consultation with two published opinions (one named), and its path."""
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    author = make_user(display_name="こえ太郎")
    for text, named in (("公園に木陰を増やしてください。", True), ("照明を明るく。", False)):
        scan = moderation_ops.scan_text(text, author, spam=False)
        operations.submit_opinion(consultation, author, scan, show_name=named)
    db.session.commit()
    return f"/consultations/{consultation.id}"


def readers(app, make_user, count=2):
    clients = []
    for _ in range(count):
        client = app.test_client()
        login(client, make_user().email)
        clients.append(client)
    return clients


def test_the_page_is_the_same_with_and_without_the_cache(app, client, page, make_user):
    (reader,) = readers(app, make_user, 1)
    reader.get("/")  # the log-in message is shown once, here
    stored = reader.get(page).get_data(as_text=True)
    hits = cache_of(app).hits
    cached = reader.get(page).get_data(as_text=True)
    assert cache_of(app).hits == hits + 3  # both opinions and the opinion form's fields
    cache_of(app).size = 0
    without = reader.get(page).get_data(as_text=True)
    assert TOKENS.sub("T", stored) == TOKENS.sub("T", cached) == TOKENS.sub("T", without)
    assert "こえ太郎" in without and "匿名" in without  # the named and the anonymous opinion


def cache_of(app):
    with app.app_context():
        return cache()


def test_each_visitor_gets_their_own_token_and_it_works(app, db, page, make_user):
    first, second = readers(app, make_user)
    one = REACTION_TOKEN.findall(first.get(page).get_data(as_text=True))
    two = REACTION_TOKEN.findall(second.get(page).get_data(as_text=True))  # from the cache
    assert len(one) == len(two) == 2 and cache_of(app).hits >= 2
    assert one[0] != two[0]
    opinion = db.session.scalars(select(Opinion)).first()
    react = f"/consultations/opinions/{opinion.id}/react"
    answer = second.post(react, data={"kind": "agree", "csrf_token": two[0]})
    assert answer.status_code == 302
    assert db.session.scalar(select(Reaction.kind)).value == "agree"
    html = second.get(page).get_data(as_text=True)
    assert 'aria-pressed="true">賛成 1</button>' in html  # its own reaction, counted
    html = first.get(page).get_data(as_text=True)
    assert 'aria-pressed="false">賛成 1</button>' in html  # the count, not the other's choice


def test_an_edit_or_a_new_language_is_shown_at_once(app, db, client, page, make_user):
    assert "公園に木陰を増やしてください。" in client.get(page).get_data(as_text=True)
    item = operations.item_of(db.session.scalars(select(Opinion)).first())
    moderation_ops.edit_public(item, make_user(role=Role.MODERATOR), "公園に木陰を。")
    db.session.commit()
    html = client.get(page).get_data(as_text=True)
    assert "公園に木陰を。" in html and "公園に木陰を増やしてください。" not in html
    post_form(client, "/preferences/language", {"lang": "en"})
    html = client.get(page).get_data(as_text=True)
    assert "Anonymous" in html and "匿名" not in html


def test_the_opinion_form_shows_a_changed_section_heading_at_once(app, db, page, make_user):
    (reader,) = readers(app, make_user, 1)
    assert "みどりの総則" not in reader.get(page).get_data(as_text=True)
    consultation_id = int(page.rsplit("/", 1)[1])
    from app.consultations.models import Consultation

    section = db.session.get(Consultation, consultation_id).sections[0]
    section.heading = "第1章 みどりの総則"
    db.session.commit()
    html = reader.get(page).get_data(as_text=True)
    # the draft's heading, the form's choice and the published opinions' section filter
    assert html.count("第1章 みどりの総則") == 3
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', html)
    again = reader.get(page).get_data(as_text=True)
    assert key and key.group(1) not in again  # each page its own idempotency key
