"""Sharing a session (read / organize) and the administrator's account pages, through HTTP."""

import re

import pytest

from survey.extensions import db
from survey.models import AuditEntry, GrantLevel, Role, SessionGrant, User
from survey.services.sessions import close_session
from tests.conftest import csrf_token_from, login
from tests.web.test_results_pages import cast


def audit_actions(session_id=None) -> list[tuple[str, str]]:
    query = db.select(AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)
    if session_id is not None:
        query = query.where(AuditEntry.session_id == session_id)
    return [tuple(row) for row in db.session.execute(query)]


def post_form(client, page_url: str, url: str, data: dict, **kwargs):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def grant(client, session_id: int, username: str, level: str, **kwargs):
    return post_form(
        client,
        f"/sessions/{session_id}",
        f"/sessions/{session_id}/grants",
        {"username": username, "level": level},
        **kwargs,
    )


@pytest.fixture
def owner_client(app, open_session):
    client = app.test_client()
    assert login(client, open_session.organizer, open_session.password).status_code == 302
    return client


def test_owner_grants_read_to_an_assessor_who_then_sees_results_and_downloads(
    app, client, open_session, owner_client, make_user
):
    session_id = open_session.session.id
    assessor = make_user("kaohe-a", role=Role.ASSESSOR)
    outsider = app.test_client()
    login(outsider, assessor.username)
    assert outsider.get(f"/sessions/{session_id}").status_code == 404

    response = grant(owner_client, session_id, "kaohe-a", "assess", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "已授予“kaohe-a”查看结果权限" in html
    assert re.search(r"<td>kaohe-a</td><td>考核组</td><td>查看结果</td>", html)

    cast(client, open_session.codes[:5], "good")
    close_session(open_session.session, None)
    results = outsider.get(f"/sessions/{session_id}/results")
    assert results.status_code == 200 and "较好以上率" in results.get_data(as_text=True)
    xlsx = outsider.get(f"/sessions/{session_id}/results/download/xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    # Read is not organize: the assessor cannot change the setup or share on.
    assert outsider.get(f"/sessions/{session_id}/codes").status_code == 403
    assert grant(outsider, session_id, "whoever", "assess").status_code == 403

    assert ("grant_session", "授予 测试用户（kaohe-a） 查看结果权限") in audit_actions(session_id)


def test_owner_grants_organize_to_a_second_clerk_and_revokes_it(
    app, open_session, owner_client, make_user
):
    session_id = open_session.session.id
    clerk = make_user("luru-b", role=Role.ORGANIZER)
    assert grant(owner_client, session_id, "luru-b", "organize").status_code == 302
    level = db.session.get(SessionGrant, (session_id, clerk.id)).level
    assert level == GrantLevel.ORGANIZE

    second = app.test_client()
    login(second, clerk.username)
    assert second.get(f"/sessions/{session_id}/paper").status_code == 200
    assert second.get(f"/sessions/{session_id}/codes").status_code == 200
    # A co-organizer organizes but does not share: sharing stays with the owner and admins.
    assert grant(second, session_id, "someone", "assess").status_code == 403

    response = post_form(
        owner_client,
        f"/sessions/{session_id}",
        f"/sessions/{session_id}/grants/{clerk.id}/delete",
        {},
        follow_redirects=True,
    )
    assert "已取消“luru-b”对本测评的授权" in response.get_data(as_text=True)
    assert db.session.get(SessionGrant, (session_id, clerk.id)) is None
    assert second.get(f"/sessions/{session_id}/paper").status_code == 404
    assert second.get(f"/sessions/{session_id}").status_code == 404
    actions = [action for action, _ in audit_actions(session_id)]
    assert actions[-2:] == ["grant_session", "revoke_session"]
    audit = owner_client.get(f"/sessions/{session_id}/audit").get_data(as_text=True)
    assert "授权访问测评" in audit and "取消测评授权" in audit


@pytest.mark.parametrize(
    ("username", "level", "message"),
    [
        ("", "assess", "请填写要授权的用户名"),
        ("nobody-here", "assess", "没有用户名为“nobody-here”的账号"),
        ("kaohe-c", "organize", "只能授予查看结果权限"),
        ("kaohe-c", "superuser", "不是有效的选择"),
    ],
)
def test_bad_grants_get_a_chinese_message_and_4xx(
    open_session, owner_client, make_user, username, level, message
):
    make_user("kaohe-c", role=Role.ASSESSOR)
    response = grant(owner_client, open_session.session.id, username, level)
    assert 400 <= response.status_code < 500
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(SessionGrant)) == 0


def test_granting_the_owner_a_disabled_account_or_twice_is_refused(
    open_session, owner_client, make_user
):
    session_id = open_session.session.id
    response = grant(owner_client, session_id, open_session.organizer, "assess")
    assert response.status_code == 400 and "无需授权" in response.get_data(as_text=True)
    off = make_user("tingyong", role=Role.ASSESSOR)
    off.active = False
    db.session.commit()
    response = grant(owner_client, session_id, "tingyong", "assess")
    assert response.status_code == 400 and "已停用" in response.get_data(as_text=True)
    make_user("kaohe-d", role=Role.ASSESSOR)
    assert grant(owner_client, session_id, "kaohe-d", "assess").status_code == 302
    again = grant(owner_client, session_id, "kaohe-d", "assess")
    assert again.status_code == 400 and "已有查看结果权限" in again.get_data(as_text=True)


def test_an_admin_may_share_any_session(app, open_session, make_user):
    admin = make_user(role=Role.ADMIN)
    make_user("kaohe-e", role=Role.ASSESSOR)
    client = app.test_client()
    login(client, admin.username)
    assert grant(client, open_session.session.id, "kaohe-e", "assess").status_code == 302


def test_revoking_a_grant_that_does_not_exist_is_404(open_session, owner_client):
    session_id = open_session.session.id
    response = post_form(
        owner_client, f"/sessions/{session_id}", f"/sessions/{session_id}/grants/99999/delete", {}
    )
    assert response.status_code == 404 and "没有这项授权" in response.get_data(as_text=True)


# ---- the administrator's account pages ----------------------------------------------------


@pytest.fixture
def admin_client(app, make_user):
    admin = make_user("guanli", role=Role.ADMIN)
    client = app.test_client()
    login(client, admin.username)
    client.admin = admin
    return client


def shown_password(response) -> str:
    match = re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True))
    assert match, "the page shows no password"
    return match.group(1)


def test_admin_creates_resets_disables_and_enables_an_account(app, admin_client):
    created = post_form(
        admin_client,
        "/admin/users",
        "/admin/users",
        {"username": "kaohe-f", "display_name": "考核组 丙", "role": "assessor"},
    )
    assert created.status_code == 200 and "密码只显示这一次" in created.get_data(as_text=True)
    first = shown_password(created)
    user = db.session.scalar(db.select(User).where(User.username == "kaohe-f"))
    assert user.role == Role.ASSESSOR and user.display_name == "考核组 丙"
    # Shown once: the list never shows it again.
    assert first not in admin_client.get("/admin/users").get_data(as_text=True)

    assessor = app.test_client()
    assert login(assessor, "kaohe-f", first).status_code == 302

    reset = post_form(admin_client, "/admin/users", f"/admin/users/{user.id}/password", {})
    second = shown_password(reset)
    assert second != first
    assert login(app.test_client(), "kaohe-f", first).status_code == 401
    assert login(app.test_client(), "kaohe-f", second).status_code == 302

    disabled = post_form(
        admin_client, "/admin/users", f"/admin/users/{user.id}/active", {"active": "0"}
    )
    assert disabled.status_code == 302
    # A login made before the account was disabled stops working at once.
    assert assessor.get("/sessions").status_code == 302
    assert login(app.test_client(), "kaohe-f", second).status_code == 401
    post_form(admin_client, "/admin/users", f"/admin/users/{user.id}/active", {"active": "1"})
    assert login(app.test_client(), "kaohe-f", second).status_code == 302

    actions = [action for action, _ in audit_actions()]
    assert actions == [
        "create_user",
        "reset_password",
        "disable_user",
        "enable_user",
    ]
    page = admin_client.get("/admin/users").get_data(as_text=True)
    for label in ("创建账号", "重置账号密码", "停用账号", "启用账号"):
        assert label in page
    assert first not in page and second not in page


def test_admin_changes_role_and_display_name(app, admin_client, make_user):
    user = make_user("zuzhi-g", role=Role.ORGANIZER)
    response = post_form(
        admin_client,
        f"/admin/users/{user.id}",
        f"/admin/users/{user.id}",
        {"display_name": "  新 名字 ", "role": "assessor"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == Role.ASSESSOR and user.display_name == "新 名字"
    details = dict(audit_actions())
    assert details["change_role"] == "zuzhi-g：组织者 → 考核组"
    assert details["rename_user"] == "zuzhi-g：测试用户 → 新 名字"

    empty = post_form(
        admin_client,
        f"/admin/users/{user.id}",
        f"/admin/users/{user.id}",
        {"display_name": "", "role": "assessor"},
    )
    assert empty.status_code == 400 and "请填写姓名" in empty.get_data(as_text=True)


def test_the_last_admin_cannot_be_disabled_or_demoted(admin_client):
    admin = admin_client.admin
    demote = post_form(
        admin_client,
        f"/admin/users/{admin.id}",
        f"/admin/users/{admin.id}",
        {"display_name": "管理员", "role": "organizer"},
    )
    assert demote.status_code == 400 and "不能取消自己的系统管理员角色" in demote.get_data(
        as_text=True
    )
    disable = post_form(
        admin_client, "/admin/users", f"/admin/users/{admin.id}/active", {"active": "0"}
    )
    assert disable.status_code == 400 and "不能停用自己" in disable.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active and admin.role == Role.ADMIN


def test_unknown_account_is_404_and_organizers_get_403(app, admin_client, make_user):
    assert admin_client.get("/admin/users/99999").status_code == 404
    organizer = make_user(role=Role.ORGANIZER)
    client = app.test_client()
    login(client, organizer.username)
    token = csrf_token_from(client.get("/sessions").get_data(as_text=True))
    response = client.post(f"/admin/users/{organizer.id}/password", data={"csrf_token": token})
    assert response.status_code == 403
