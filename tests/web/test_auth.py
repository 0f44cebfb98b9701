"""Logging in and out, roles, CSRF and who sees which session."""

import re

import pytest

from survey.extensions import db
from survey.models import EvalSession, GrantLevel, Role, SessionGrant
from tests.conftest import csrf_token_from, login


def make_session(owner, title="2026年度民主测评") -> EvalSession:
    session = EvalSession(title=title, owner=owner, rule_set_key="seed002", rule_set_version="1")
    db.session.add(session)
    db.session.commit()
    return session


def test_login_with_wrong_password_is_refused(client, make_user):
    user = make_user()
    response = login(client, user.username, "wrong password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/sessions").status_code == 302  # still anonymous


def test_login_with_unknown_user_is_refused_the_same_way(client):
    response = login(client, "nobody", "whatever-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_login_then_logout(client, make_user):
    user = make_user()
    response = login(client, user.username)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sessions")
    page = client.get("/sessions")
    assert page.status_code == 200
    assert "测评列表" in page.get_data(as_text=True)

    token = csrf_token_from(page.get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/sessions").status_code == 302


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user()
    user.active = False
    db.session.commit()
    assert login(client, user.username).status_code == 401


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/sessions")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.ASSESSOR])
def test_admin_pages_are_denied_to_other_roles(client, logged_in, role):
    logged_in(role)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "没有访问此页面的权限" in response.get_data(as_text=True)


def test_form_without_csrf_token_gets_400(client, logged_in):
    logged_in(Role.ADMIN)
    response = client.post(
        "/admin/users",
        data={"username": "new", "password": "long enough", "role": "assessor"},
    )
    assert response.status_code == 400
    assert "请求来源无法验证" in response.get_data(as_text=True)


def test_login_form_without_csrf_token_gets_400(client, make_user):
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": "x"})
    assert response.status_code == 400


def test_admin_creates_an_assessor_who_can_log_in(client, logged_in, app):
    logged_in(Role.ADMIN)
    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    response = client.post(
        "/admin/users",
        data={
            "username": "kaohe1",
            "display_name": "考核组甲",
            "role": "assessor",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    other = app.test_client()
    assert login(other, "kaohe1", password).status_code == 302


def test_admin_form_refuses_a_taken_username_with_a_message(client, logged_in):
    admin = logged_in(Role.ADMIN)
    token = csrf_token_from(client.get("/admin/users").get_data(as_text=True))
    response = client.post(
        "/admin/users",
        data={"username": admin.username, "role": "organizer", "csrf_token": token},
    )
    assert response.status_code == 400
    assert f"用户名“{admin.username}”已存在" in response.get_data(as_text=True)


def test_organizer_sees_only_owned_and_granted_sessions(client, logged_in, make_user):
    me = logged_in(Role.ORGANIZER)
    other = make_user()
    make_session(me, "我的测评")
    make_session(other, "别人的测评")
    shared = make_session(other, "共享给我的测评")
    db.session.add(SessionGrant(session_id=shared.id, user_id=me.id, level=GrantLevel.ORGANIZE))
    db.session.commit()

    page = client.get("/sessions").get_data(as_text=True)
    assert "我的测评" in page
    assert "共享给我的测评" in page
    assert "别人的测评" not in page


def test_admin_sees_every_session(client, logged_in, make_user):
    logged_in(Role.ADMIN)
    make_session(make_user(), "某县测评")
    assert "某县测评" in client.get("/sessions").get_data(as_text=True)


def test_login_does_not_redirect_off_site(client, make_user):
    user = make_user()
    page = client.get("/login?next=//evil.example/")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": user.username, "password": "correct horse battery", "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/sessions")
