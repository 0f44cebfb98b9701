"""An organizer logs in from a real browser and sees the session list."""

import pytest

from survey.extensions import db
from survey.services.demo import create_demo

pytestmark = pytest.mark.browser


def test_demo_organizer_logs_in_and_sees_the_session_list(live_server, page, app):
    demo = create_demo(codes_per_group=2)
    db.session.commit()  # what the `survey demo` command's end does
    page.goto(f"{live_server}/sessions")
    assert page.url.startswith(f"{live_server}/login")
    page.fill("#username", demo.username)
    page.fill("#password", demo.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/sessions")
    assert page.locator("h1").inner_text() == "测评列表"
    row = page.locator("table tbody tr").first
    assert "演示" in row.inner_text()
    assert "测评进行中" in row.inner_text()


def test_wrong_password_shows_a_chinese_message(live_server, page, app):
    demo = create_demo(codes_per_group=1)
    db.session.commit()  # what the `survey demo` command's end does
    page.goto(f"{live_server}/login")
    page.fill("#username", demo.username)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.locator(".flash").inner_text()
