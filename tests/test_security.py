"""The security baseline: CSRF everywhere, headers, cookies, sessions, rate limits, redirects."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.routing import IntegerConverter

from app import jobs
from app.auth.models import Role, User, UserSession
from app.extensions import limiter
from app.security import safe_next
from app.timeutil import utcnow
from tests.conftest import PASSWORD, csrf_token, login, post_form
from tests.test_auth import register

CSRF_MESSAGE = "フォームの有効期限が切れたか、別のページから送信されました"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _url_for_rule(rule) -> str:
    """Fill a rule's variables with plausible values."""
    values = {}
    for name in rule.arguments:
        numeric = isinstance(rule._converters[name], IntegerConverter)
        values[name] = 1 if numeric else "x"
    return rule.build(values, append_unknown=False)[1]


#: the only routes without a CSRF token: machines post to them with an HMAC signature instead
#: (the media service's webhook; tests/test_event_stream.py checks the signature)
SIGNED_INSTEAD = {"/events/media/webhook"}


def state_changing_routes(app):
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            routes.append((method, _url_for_rule(rule)))
    return routes


def test_there_are_state_changing_routes_to_check(app):
    routes = state_changing_routes(app)
    assert len(routes) >= 12
    assert ("POST", "/auth/logout") in routes


@pytest.mark.parametrize("as_admin", [False, True])
def test_every_state_changing_route_refuses_missing_or_foreign_csrf_token(
    app, client, make_user, as_admin
):
    if as_admin:
        admin = make_user(role=Role.ADMIN)
        login(client, admin.email)
    other = app.test_client()
    foreign = csrf_token(other)  # a valid token, but of another session
    assert csrf_token(client) != foreign
    for method, url in state_changing_routes(app):
        for data in ({}, {"csrf_token": foreign}, {"csrf_token": "forged"}):
            response = client.open(url, method=method, data=data)
            if url in SIGNED_INSTEAD:  # no session, no form: a signature over the body
                assert response.status_code == 401, (method, url, data)
                continue
            assert response.status_code == 400, (method, url, data)
            assert CSRF_MESSAGE in response.get_data(as_text=True), (method, url)


def test_a_valid_token_passes_the_csrf_check(client):
    response = post_form(client, "/preferences/language", {"lang": "en", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="en"' in client.get("/").get_data(as_text=True)


def test_no_get_route_changes_state(app, client, make_user, db):
    """Every GET the site offers leaves the database unchanged (links can be prefetched)."""
    admin = make_user(role=Role.ADMIN)
    login(client, admin.email)

    def snapshot():
        return {t.name: db.session.execute(t.select()).all() for t in db.metadata.sorted_tables}

    db.session.execute(update(UserSession).values(last_seen_at=utcnow()))
    db.session.commit()
    before = snapshot()
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            client.get(_url_for_rule(rule))
    db.session.expire_all()
    assert snapshot() == before


@pytest.mark.parametrize(
    "path",
    ["/", "/auth/login", "/no-such-page", "/static/css/koe.css", "/healthz", "/auth/logout"],
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src
    assert re.search(r"'nonce-[A-Za-z0-9_-]{16,}'", script_src)
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_nonce_changes_per_request(client):
    first = client.get("/").headers["Content-Security-Policy"]
    second = client.get("/").headers["Content-Security-Policy"]
    assert first != second


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://koe.example.jp")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_no_inline_script_or_style_or_handlers(client, logged_in):
    logged_in(Role.ADMIN)
    for path in ("/", "/account/", "/account/profile", "/admin/", "/admin/audit"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bnonce=)", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert not re.search(r"\sstyle\s*=", html), path


def test_session_cookie_flags_over_http(client, make_user):
    user = make_user()
    response = login(client, user.email)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if "koe_session=" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie


class TestOverHttps:
    @pytest.fixture
    def app_config(self):
        return {"BASE_URL": "https://koe.example.jp"}

    def test_cookie_is_secure_and_host_prefixed(self, client, make_user):
        user = make_user()
        base = "https://koe.example.jp"
        token = csrf_token_https(client, base)
        response = client.post(
            "/auth/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": token},
            base_url=base,
            headers={"Referer": base + "/auth/login"},
        )
        assert response.status_code == 302
        cookie = next(
            c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-koe_session=")
        )
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie


def csrf_token_https(client, base):
    html = client.get("/auth/login", base_url=base).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _age_session(db, **delta):
    db.session.execute(update(UserSession).values(**delta))
    db.session.commit()


def test_idle_timeout_ends_the_session(client, db, logged_in):
    logged_in()
    assert client.get("/account/").status_code == 200
    _age_session(db, last_seen_at=utcnow() - timedelta(minutes=31))
    assert client.get("/account/").status_code == 302
    assert db.session.scalar(select(UserSession)) is None


def test_activity_keeps_the_session_alive(client, db, logged_in):
    logged_in()
    _age_session(db, last_seen_at=utcnow() - timedelta(minutes=29))
    assert client.get("/account/").status_code == 200
    db.session.expire_all()
    seen = db.session.scalar(select(UserSession.last_seen_at))
    assert utcnow() - seen.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)


def test_absolute_timeout_ends_the_session(client, db, logged_in):
    logged_in()
    _age_session(db, created_at=utcnow() - timedelta(hours=13), last_seen_at=utcnow())
    assert client.get("/account/").status_code == 302


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account/", "/account/"),
        ("/account/?tab=1", "/account/?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_safe_next(app, target, expected):
    with app.test_request_context():
        assert safe_next(target) == expected


# --- rate limits ----------------------------------------------------------------------------


def _limit_config(**limits):
    redis_url = os.environ.get("KOE_TEST_REDIS_URL")
    return {
        "RATELIMIT_ENABLED": True,
        # Redis (the production storage) when the machine has one, else memory.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        **limits,
    }


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return _limit_config(
            LOGIN_LIMIT_ACCOUNT="3 per minute",
            LOGIN_LIMIT_IP="5 per minute",
            REGISTER_LIMIT_IP="3 per minute",
            REGISTER_LIMIT_ACCOUNT="2 per minute",
            RESEND_LIMIT_ACCOUNT="1 per minute",
            RESET_LIMIT_ACCOUNT="2 per minute",
            RESET_LIMIT_IP="4 per minute",
        )

    @pytest.fixture(autouse=True)
    def _fresh_counters(self, app):
        """Start each test with empty counters (the limiter's storage outlives an app)."""
        limiter.reset()

    def test_counters_live_in_redis_when_configured(self, client):
        url = os.environ.get("KOE_TEST_REDIS_URL")
        if not url:
            pytest.skip("KOE_TEST_REDIS_URL is not set; counters are in memory")
        import redis

        login(client, "someone@example.jp", "wrong password!")
        assert redis.Redis.from_url(url).keys("LIMITS*")

    def test_login_per_account(self, client, make_user):
        user = make_user()
        for _ in range(3):
            assert login(client, user.email, "wrong password!").status_code == 200
        response = login(client, user.email)  # even the right password waits now
        assert response.status_code == 429
        assert "試行回数が多すぎます" in response.get_data(as_text=True)
        assert "Retry-After" in response.headers

    def test_login_per_ip(self, client):
        statuses = [
            login(client, f"u{i}@example.jp", "wrong password!").status_code for i in range(6)
        ]
        assert statuses == [200] * 5 + [429]

    def test_registration_per_ip(self, client):
        statuses = [register(client, email=f"r{i}@example.jp").status_code for i in range(4)]
        assert statuses == [200, 200, 200, 429]

    def test_registration_per_address(self, client):
        """Nobody can flood one address with "someone tried to register" mail."""
        statuses = [register(client, email="same@example.jp").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]

    def test_resending_the_verification_mail(self, client, logged_in, mailbox):
        user = logged_in(verified=False)
        statuses = [post_form(client, "/auth/verify/resend", {}).status_code for _ in range(2)]
        assert statuses == [302, 429]
        assert len(mailbox.to(user.email)) == 1

    def test_reset_per_account(self, client, mailbox):
        statuses = [
            post_form(client, "/auth/reset", {"email": "same@example.jp"}).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]

    def test_get_pages_are_not_limited(self, client):
        assert all(client.get("/auth/login").status_code == 200 for _ in range(10))


class TestLimitsCountAttemptsNotUse:
    """Limits count what an attacker does (wrong passwords, mails sent), not what staff do."""

    @pytest.fixture
    def app_config(self):
        return _limit_config(
            LOGIN_LIMIT_IP="4 per 10 minutes",
            LOGIN_LIMIT_ACCOUNT="2 per 10 minutes",
            REGISTER_LIMIT_IP="3 per hour",
            RESET_LIMIT_ACCOUNT="2 per hour",
            PASSWORD_CHECK_LIMIT="2 per 10 minutes",
        )

    @pytest.fixture(autouse=True)
    def _fresh_counters(self, app):
        """Start each test with empty counters (the limiter's storage outlives an app)."""
        limiter.reset()

    def test_successful_log_ins_from_one_office_never_lock_it_out(self, app, make_user):
        staff = [make_user() for _ in range(3)]
        for _round in range(3):  # 9 log-ins from one address: more than the limit of 4
            for user in staff:
                client = app.test_client()
                assert login(client, user.email).status_code == 302
                assert post_form(client, "/auth/logout", {}).status_code == 302
        # wrong passwords count: 4 of them (on two accounts) close the door to this address
        client = app.test_client()
        for user in staff[:2]:
            for _ in range(2):
                assert login(client, user.email, "wrong password").status_code == 200
        assert login(client, staff[2].email).status_code == 429

    def test_full_width_and_upper_case_addresses_count_against_one_account(self, app, make_user):
        user = make_user(email="resb@example.jp")
        client = app.test_client()
        for variant in ("ｒｅｓｂ＠ｅｘａｍｐｌｅ．ｊｐ", "RESB@Example.JP"):
            response = login(client, variant, "wrong password")
            assert response.status_code == 200
            assert "正しくありません" in response.get_data(as_text=True)
        assert login(client, user.email).status_code == 429  # this account: two failures
        other = make_user()
        assert login(client, other.email).status_code == 302  # the address is still welcome

    def test_registration_counts_the_mails_it_sends_not_the_typing_mistakes(self, client, db):
        for _ in range(5):  # a weak password, shown again: no mail, not counted
            response = register(client, email="typo@example.jp", password="password")
            assert response.status_code == 200 and "よく使われている" in response.get_data(
                as_text=True
            )
        for n in range(3):
            assert register(client, email=f"new{n}@example.jp").status_code == 200
        assert register(client, email="new9@example.jp").status_code == 429
        assert db.session.scalar(select(User).where(User.email == "new2@example.jp"))

    def test_reset_requests_count_per_normalised_account(self, client, make_user, mailbox):
        make_user(email="reset@example.jp")
        for variant in ("reset@example.jp", "ＲＥＳＥＴ＠ｅｘａｍｐｌｅ．ｊｐ"):
            assert post_form(client, "/auth/reset", {"email": variant}).status_code == 200
        response = post_form(client, "/auth/reset", {"email": "Reset@example.jp"})
        assert response.status_code == 429
        assert jobs.run_pending() == 2
        assert len(mailbox.to("reset@example.jp")) == 2

    def test_wrong_current_passwords_are_limited_per_account(self, client, logged_in):
        logged_in()
        data = {"current_password": "wrong password", "email": "new@example.jp"}
        for _ in range(2):
            response = post_form(client, "/account/email", data, page="/account/email")
            assert response.status_code == 200
            assert "パスワードが正しくありません" in response.get_data(as_text=True)
        data = {"current_password": "wrong password", "confirm": "y"}
        assert post_form(client, "/account/delete", data, page="/account/delete").status_code == 429
