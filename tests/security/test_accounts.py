"""Accounts: logging out, a password reset or disabling an account ends every session of it;
failed logins are throttled per account and per client network, never for a mere typo."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEntry, EvalSession, LoginFailure, Role, User
from survey.services import login_throttle
from survey.services.accounts import end_sessions, reset_password, set_active
from tests.conftest import TEST_PASSWORD, csrf_token_from, login

MINUTE = 29_000_000
HALL = {"REMOTE_ADDR": "10.20.30.40"}


@pytest.fixture
def organizer_with_session(make_user):
    organizer = make_user(role=Role.ORGANIZER)
    session = EvalSession(title="测评", owner=organizer, rule_set_key="x", rule_set_version="1")
    db.session.add(session)
    db.session.commit()
    return organizer, session.id


def captured_cookie(client) -> str:
    """The session cookie as an attacker would copy it from the browser."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(app, value: str):
    stranger = app.test_client()
    stranger.set_cookie("session", value)
    return stranger


def opens_organizer_pages(client, session_id: int) -> bool:
    pages = [f"/sessions/{session_id}", f"/sessions/{session_id}/subjects", "/sessions"]
    return all(client.get(url).status_code == 200 for url in pages)


def test_a_cookie_captured_before_logout_opens_nothing_after(app, client, organizer_with_session):
    organizer, session_id = organizer_with_session
    assert login(client, organizer.username).status_code == 302
    stolen = captured_cookie(client)
    assert opens_organizer_pages(with_cookie(app, stolen), session_id)
    token = csrf_token_from(client.get("/sessions").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    thief = with_cookie(app, stolen)
    for url in (f"/sessions/{session_id}", f"/sessions/{session_id}/codes", "/sessions"):
        response = thief.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    # Downloads too: the results workbook of a session is behind the same check.
    response = thief.get(f"/sessions/{session_id}/results/download/xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    # The account itself still works: a fresh login opens the pages again.
    fresh = app.test_client()
    assert login(fresh, organizer.username).status_code == 302
    assert opens_organizer_pages(fresh, session_id)
    assert not opens_organizer_pages(thief, session_id)


def test_logout_on_one_device_ends_the_others(app, organizer_with_session):
    organizer, session_id = organizer_with_session
    phone, laptop = app.test_client(), app.test_client()
    assert login(phone, organizer.username).status_code == 302
    assert login(laptop, organizer.username).status_code == 302
    token = csrf_token_from(phone.get("/sessions").get_data(as_text=True))
    phone.post("/logout", data={"csrf_token": token})
    assert laptop.get("/sessions").status_code == 302


def test_password_reset_ends_sessions_and_the_new_password_works(app, organizer_with_session):
    organizer, session_id = organizer_with_session
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN)) or User(
        username="admin-x", password_hash="x", role=Role.ADMIN, display_name="管理员"
    )
    db.session.add(admin)
    db.session.commit()
    device = app.test_client()
    assert login(device, organizer.username).status_code == 302
    stolen = captured_cookie(device)

    password = reset_password(db.session.get(User, organizer.id), admin)
    assert len(password) >= 16 and password != TEST_PASSWORD
    assert device.get("/sessions").status_code == 302
    assert with_cookie(app, stolen).get(f"/sessions/{session_id}").status_code == 302
    assert login(app.test_client(), organizer.username).status_code == 401  # the old password
    fresh = app.test_client()
    assert login(fresh, organizer.username, password).status_code == 302
    assert opens_organizer_pages(fresh, session_id)
    db.session.rollback()
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "reset_password" in actions


def test_disabling_an_account_ends_its_sessions(app, make_user, organizer_with_session):
    organizer, session_id = organizer_with_session
    admin = make_user(role=Role.ADMIN)
    device = app.test_client()
    assert login(device, organizer.username).status_code == 302
    stolen = captured_cookie(device)

    set_active(db.session.get(User, organizer.id), False, admin)
    assert device.get("/sessions").status_code == 302
    assert login(app.test_client(), organizer.username).status_code == 401
    set_active(db.session.get(User, organizer.id), True, admin)
    # Enabling again does not revive the sessions that disabling ended.
    assert with_cookie(app, stolen).get("/sessions").status_code == 302
    again = app.test_client()
    assert login(again, organizer.username).status_code == 302
    assert opens_organizer_pages(again, session_id)


def test_an_administrator_cannot_disable_themself(make_user):
    from survey.services import ServiceError

    admin = make_user(role=Role.ADMIN)
    with pytest.raises(ServiceError, match="不能停用"):
        set_active(admin, False, admin)


def test_end_sessions_leaves_other_accounts_logged_in(app, make_user):
    one, other = make_user(), make_user()
    first, second = app.test_client(), app.test_client()
    assert login(first, one.username).status_code == 302
    assert login(second, other.username).status_code == 302
    end_sessions(db.session.get(User, one.id))
    assert first.get("/sessions").status_code == 302
    assert second.get("/sessions").status_code == 200


def test_a_session_stored_before_versions_is_not_accepted(app, make_user):
    """A cookie holding the bare user id (as before this change) logs nobody in."""
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as stored:
        stored["_user_id"] = str(user.id)
        stored["_fresh"] = True
    assert client.get("/sessions").status_code == 302
    for forged in (f"{user.id}.{2**64}", f"{2**64}.1", f"{user.id}.²", "\x00.1"):
        with client.session_transaction() as stored:
            stored["_user_id"] = forged
        assert client.get("/sessions").status_code == 302


# ---- throttling ---------------------------------------------------------------------------


def failed_logins(client, username: str, count: int, environ=HALL) -> list[int]:
    statuses = []
    for _ in range(count):
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        form = {"username": username, "password": "wrong password", "csrf_token": token}
        statuses.append(client.post("/login", data=form, environ_base=environ).status_code)
    return statuses


def good_login(client, username: str, environ=HALL) -> int:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    form = {"username": username, "password": TEST_PASSWORD, "csrf_token": token}
    return client.post("/login", data=form, environ_base=environ).status_code


def test_a_colleague_who_mistyped_twice_logs_in(client, make_user, monkeypatch):
    monkeypatch.setattr(login_throttle, "current_minute", lambda: MINUTE)
    user = make_user()
    assert failed_logins(client, user.username, 2) == [401, 401]
    assert good_login(client, user.username) == 302


def test_guessing_one_account_is_throttled_with_a_chinese_message(app, make_user, monkeypatch):
    minute = [MINUTE]
    monkeypatch.setattr(login_throttle, "current_minute", lambda: minute[0])
    user = make_user()
    client = app.test_client()
    statuses = failed_logins(client, user.username, 7)
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    form = {"username": user.username, "password": TEST_PASSWORD, "csrf_token": token}
    refused = client.post("/login", data=form, environ_base=HALL)
    assert refused.status_code == 429  # even the right password waits: no oracle
    assert "登录失败次数过多" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "60"
    # From another network too: the account's own bucket is full.
    other = {"REMOTE_ADDR": "192.0.2.7"}
    assert good_login(app.test_client(), user.username, other) == 429
    # A minute later the per-minute limit lets the right password through.
    minute[0] += 1
    assert good_login(app.test_client(), user.username) == 302
    # Over an hour: 20 failures, then the wait is until the oldest ages out of the window.
    for step in range(1, 4):
        minute[0] = MINUTE + step * 2
        failed_logins(app.test_client(), user.username, 5)
    assert good_login(app.test_client(), user.username) == 429
    page = app.test_client()
    token = csrf_token_from(page.get("/login").get_data(as_text=True))
    form["csrf_token"] = token
    waited = page.post("/login", data=form, environ_base=HALL)
    assert 50 * 60 <= int(waited.headers["Retry-After"]) <= 60 * 60
    minute[0] = MINUTE + 61
    assert good_login(app.test_client(), user.username) == 302


def test_spraying_many_accounts_from_one_network_is_throttled(app, make_user, monkeypatch):
    minute = [MINUTE]
    monkeypatch.setattr(login_throttle, "current_minute", lambda: minute[0])
    client = app.test_client()
    statuses = []
    for n in range(25):
        statuses += failed_logins(client, f"nobody-{n}", 1)
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    # Another network is not affected; neighbours in the same /24 are.
    user = make_user()
    assert good_login(app.test_client(), user.username, {"REMOTE_ADDR": "192.0.2.7"}) == 302
    neighbour = {"REMOTE_ADDR": "10.20.30.99"}
    assert good_login(app.test_client(), user.username, neighbour) == 429


def test_the_table_holds_no_name_and_no_address(app, make_user, monkeypatch):
    monkeypatch.setattr(login_throttle, "current_minute", lambda: MINUTE)
    user = make_user()
    failed_logins(app.test_client(), user.username, 1)
    db.session.rollback()
    buckets = db.session.scalars(sa.select(LoginFailure.bucket)).all()
    assert len(buckets) == 2
    assert all(user.username not in b and "10.20.30" not in b for b in buckets)


def test_a_guessed_password_needs_far_more_tries_than_a_meeting_lasts():
    """The documented arithmetic, from the limits themselves."""
    per_hour = min(login_throttle.ACCOUNT_PER_HOUR, login_throttle.ACCOUNT_PER_MINUTE * 60)
    meeting_hours = 4
    assert per_hour * meeting_hours <= 100
    weakest_password_space = 36**8  # 8 characters, lower-case letters and digits
    days_for_even_chance = weakest_password_space / 2 / (per_hour * 24)
    assert days_for_even_chance > 1e9
