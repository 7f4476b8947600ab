"""Error pages in Japanese and English, JSON under /api/, nothing half-saved on a crash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth.models import Role
from app.extensions import db as _db
from tests.conftest import post_form


@pytest.fixture
def app_config():
    return {"MAX_CONTENT_LENGTH": 1024}


@pytest.fixture
def crashing_app(app):
    """Add a view that writes a row and then fails, as a bug would."""

    def boom():
        _db.session.add(AuditEntry(action="half.saved"))
        _db.session.flush()
        raise RuntimeError("bug")

    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    return app


@pytest.mark.parametrize(
    ("method", "path", "code", "ja", "en"),
    [
        ("get", "/no/such/page", 404, "ページが見つかりません", "Page not found"),
        ("get", "/auth/logout", 405, "この操作はできません", "Method not allowed"),
        ("post", "/auth/login", 400, "リクエストが正しくありません", "Bad request"),
    ],
)
def test_error_pages_in_both_languages(client, method, path, code, ja, en):
    response = getattr(client, method)(path)
    assert response.status_code == code
    assert ja in response.get_data(as_text=True)
    response = getattr(client, method)(path, headers={"Accept-Language": "en"})
    assert en in response.get_data(as_text=True)


def test_405_lists_allowed_methods(client):
    assert "POST" in client.get("/auth/logout").headers["Allow"]


def test_403_page(client, logged_in):
    logged_in()
    response = client.get("/admin/", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "You do not have permission" in response.get_data(as_text=True)


def test_413_for_a_large_body(client):
    response = client.post("/auth/login", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "大きすぎます" in response.get_data(as_text=True)


def test_429_page(app, client):
    from werkzeug.exceptions import TooManyRequests

    def limited():
        raise TooManyRequests()

    app.add_url_rule("/limited", "limited", limited)
    response = client.get("/limited", headers={"Accept-Language": "en"})
    assert response.status_code == 429
    assert "Please wait a while" in response.get_data(as_text=True)


def test_500_rolls_back_and_shows_a_page(crashing_app, client, db, caplog):
    response = client.get("/boom?token=secret")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "エラーが発生しました" in html and "保存されていません" in html
    assert "RuntimeError" not in html
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "half.saved")) is None
    assert "unhandled error on GET /boom" in caplog.text and "RuntimeError" in caplog.text
    assert "secret" not in caplog.text


def test_json_errors_under_api(crashing_app, client):
    response = client.get("/api/v1/none")
    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"]["code"] == 404
    response = client.get("/api/v1/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.get_json()["error"]["title"] == "Something went wrong"


def test_bad_form_posts_never_500(client, logged_in):
    logged_in()
    # a repeated field: the first value counts
    assert post_form(client, "/account/profile", {"display_name": ["a", "b"]}).status_code == 302
    for data in (
        {"display_name": "x", "birth_year": "9" * 400},
        {"display_name": "x", "area": "\x00"},
    ):
        response = post_form(client, "/account/profile", data)
        assert response.status_code == 200
        assert "error-summary" in response.get_data(as_text=True)


def test_ids_beyond_any_database_key_are_404(app, client, logged_in):
    logged_in(Role.ADMIN)
    huge = str(2**80)
    checked = 0
    for rule in app.url_map.iter_rules():
        if (
            "GET" in rule.methods
            and rule.arguments
            and all(
                type(rule._converters[name]).__name__ == "DatabaseId" for name in rule.arguments
            )
        ):
            url = rule.rule
            for name in rule.arguments:
                url = url.replace(f"<int:{name}>", huge)
            assert client.get(url).status_code == 404, url
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("page", ["0", "-1", "abc", "²", "1e3", "9" * 20, "１"])
def test_a_page_number_that_is_not_one_is_not_found(client, page):
    assert client.get(f"/consultations/?page={page}").status_code == 404


def test_a_page_past_the_end_is_an_empty_page(client):
    assert client.get("/consultations/?page=999999").status_code == 200
