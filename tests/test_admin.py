"""Administration: roles, per-object checks, the audit log and the dev outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth.models import Role, User
from app.auth.permissions import can, role_required
from tests.conftest import post_form


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.MODERATOR, Role.STAFF])
def test_admin_pages_refuse_other_roles(client, logged_in, role):
    logged_in(role)
    for path in ("/admin/", "/admin/audit", "/admin/users/1"):
        response = client.get(path)
        assert response.status_code == 403
        assert "権限がありません" in response.get_data(as_text=True)


def test_admin_pages_send_anonymous_visitors_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_admin_lists_and_searches_users(client, make_user, logged_in):
    logged_in(Role.ADMIN)
    make_user(display_name="検索される人", email="findme@example.jp")
    make_user(display_name="ほかの人", email="other@example.jp")
    html = client.get("/admin/?q=検索").get_data(as_text=True)
    assert "findme@example.jp" in html and "other@example.jp" not in html
    html = client.get("/admin/?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "findme@example.jp" not in html
    html = client.get("/admin/?role=admin").get_data(as_text=True)
    assert "findme@example.jp" not in html


def test_set_role_is_audited(client, db, make_user, logged_in):
    admin = logged_in(Role.ADMIN)
    target = make_user()
    response = post_form(client, f"/admin/users/{target.id}", {"role": "staff"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, target.id).role == Role.STAFF
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.set_role"))
    assert entry.actor_id == admin.id
    assert entry.target_type == "User" and entry.target_id == str(target.id)
    assert entry.details == {"from": "resident", "to": "staff"}
    assert entry.ip == "127.0.0.1"
    html = client.get("/admin/audit?action=user.set_role").get_data(as_text=True)
    assert "user.set_role" in html and admin.display_name in html


def test_invalid_role_is_refused_with_a_message(client, db, make_user, logged_in):
    logged_in(Role.ADMIN)
    target = make_user()
    html = post_form(client, f"/admin/users/{target.id}", {"role": "emperor"}).get_data(
        as_text=True
    )
    assert "一覧から役割を選んでください" in html
    db.session.expire_all()
    assert db.session.get(User, target.id).role == Role.RESIDENT


def test_admin_cannot_demote_themselves(client, db, logged_in):
    admin = logged_in(Role.ADMIN)
    response = post_form(client, f"/admin/users/{admin.id}", {"role": "resident"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, admin.id).role == Role.ADMIN


def test_unknown_user_is_404(client, logged_in):
    logged_in(Role.ADMIN)
    assert client.get("/admin/users/999999").status_code == 404


def test_per_object_policy(make_user):
    alice, bob = make_user(), make_user()
    admin = make_user(role=Role.ADMIN)
    assert can(alice, "edit", alice) and not can(alice, "edit", bob)
    assert not can(None, "view", alice)
    assert can(admin, "view", bob) and can(admin, "set_role", bob)
    assert not can(admin, "edit", bob)  # admins manage roles, not people's profiles
    with pytest.raises(LookupError):
        can(alice, "view", object())


def test_role_required_lets_admins_through(app, make_user):
    staff, admin, resident = make_user(role=Role.STAFF), make_user(role=Role.ADMIN), make_user()
    assert staff.has_role(Role.STAFF) and admin.has_role(Role.STAFF)
    assert not resident.has_role(Role.STAFF, Role.MODERATOR)
    assert callable(role_required(Role.STAFF)(lambda: "ok"))


class TestOutbox:
    @pytest.fixture
    def app_config(self):
        return {"MAIL_SERVER": None}

    def test_mail_without_smtp_lands_in_the_outbox(self, app, client, make_user, logged_in):
        post_form(
            client,
            "/auth/register",
            {
                "display_name": "新人",
                "email": "new@example.jp",
                "password": "long enough pw",
                "agree": "y",
            },
        )
        logged_in(Role.ADMIN)
        html = client.get("/admin/outbox").get_data(as_text=True)
        assert "new@example.jp" in html and "メールアドレスの確認" in html
        message_path = html.split('href="/admin/outbox/')[1].split('"')[0]
        body = client.get(f"/admin/outbox/{message_path}").get_data(as_text=True)
        assert "/auth/verify/" in body

    def test_outbox_is_admin_only(self, client, logged_in):
        logged_in(Role.STAFF)
        assert client.get("/admin/outbox").status_code == 403


def test_outbox_is_hidden_when_smtp_is_configured(client, logged_in):
    logged_in(Role.ADMIN)
    assert client.get("/admin/outbox").status_code == 404
