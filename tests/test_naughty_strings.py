"""The Big List of Naughty Strings in every field of registration and profile.

Each string is either stored and read back exactly, or refused with a message and nothing
saved; never a 500, never echoed unescaped.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.account.models import Profile
from app.auth.models import User
from app.validators import has_visible
from tests.conftest import PASSWORD, csrf_token, login

BLNS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "naughty-strings" / "blns.json"
MARKUP = set('<"')


@pytest.fixture(scope="module")
def naughty() -> list[str]:
    if not BLNS.exists():
        pytest.fail(f"{BLNS} is missing: the datasets live in ../shared beside the project")
    return json.loads(BLNS.read_text(encoding="utf-8"))


def assert_escaped(html: str, value: str) -> None:
    """A value that could open a tag or leave an attribute never appears raw in the page."""
    if MARKUP & set(value) and len(value) >= 4:
        assert value not in html, f"unescaped: {value!r}"


def acceptable_name(value: str, limit: int) -> bool:
    """Our rule for a display name or full name: something visible, not too long, no controls."""
    controls = any(unicodedata.category(c) in {"Cc", "Cs"} for c in value)
    return has_visible(value) and len(value) <= limit and not controls


def refused(response) -> bool:
    html = response.get_data(as_text=True)
    return response.status_code == 200 and 'class="error-summary"' in html


def test_registration(client, db, naughty):
    token = csrf_token(client, "/auth/register")
    for i, value in enumerate(naughty):
        email = f"blns{i}@example.jp"
        response = client.post(
            "/auth/register",
            data={
                "display_name": value,
                "email": email,
                "password": PASSWORD,
                "agree": "y",
                "csrf_token": token,
            },
        )
        assert response.status_code == 200, (value, response.status_code)
        assert_escaped(response.get_data(as_text=True), value)
        user = db.session.scalar(select(User).where(User.email == email))
        if acceptable_name(value, 50):
            assert user is not None and user.display_name == value, value
        else:
            assert user is None and refused(response), value
        # the same string as an e-mail address: refused with a message (none is a valid address)
        before = db.session.scalar(select(func.count()).select_from(User))
        response = client.post(
            "/auth/register",
            data={
                "display_name": "n",
                "email": value,
                "password": PASSWORD,
                "agree": "y",
                "csrf_token": token,
            },
        )
        assert refused(response), value
        assert_escaped(response.get_data(as_text=True), value)
        assert db.session.scalar(select(func.count()).select_from(User)) == before, value


def test_passwords_with_naughty_strings_log_in(app, db, naughty, make_user):
    for value in naughty[::5]:
        password = f"{value}-{PASSWORD}"[:128]
        user = make_user(password=password)
        client = app.test_client()
        assert login(client, user.email, password).status_code == 302, value


def test_profile(client, db, naughty, logged_in):
    user = logged_in()
    token = csrf_token(client, "/account/profile")
    valid = {
        "display_name": "なまえ",
        "furigana": "なまえ",
        "postal_code": "123-4567",
        "phone": "03-1234-5678",
        "birth_year": "1990",
        "area": "north",
        "full_name": "山田",
        "address": "東京都",
    }

    def stored_row():
        db.session.expire_all()
        profile = db.session.scalar(select(Profile).where(Profile.user_id == user.id))
        values = tuple(getattr(profile, f) for f in Profile.FIELDS) if profile else None
        return db.session.get(User, user.id).display_name, values

    for value in naughty:
        # free-text fields: stored and read back exactly, or refused with a message
        before = stored_row()
        data = {**valid, "display_name": value, "full_name": value, "address": value}
        response = client.post("/account/profile", data={**data, "csrf_token": token})
        if acceptable_name(value, 50):
            assert response.status_code == 302, value
            back = client.get("/account/data.json").get_json()
            assert back["account"]["display_name"] == value
            assert back["profile"]["full_name"] == value
            assert back["profile"]["address"] == value
        else:
            assert refused(response), value
            assert_escaped(response.get_data(as_text=True), value)
            assert stored_row() == before, value  # nothing half-saved
        # validated fields: refused with a message, or accepted in normalised form
        for name in ("furigana", "postal_code", "phone", "birth_year", "area"):
            before = stored_row()
            response = client.post(
                "/account/profile", data={**valid, name: value, "csrf_token": token}
            )
            assert response.status_code in (200, 302), (name, value)
            if response.status_code == 200:
                assert refused(response), (name, value)
                assert_escaped(response.get_data(as_text=True), value)
                assert stored_row() == before, (name, value)
