"""The admin creates an assessor, the organizer shares the session, the assessor downloads."""

import pytest

from survey.extensions import db
from survey.models import EvalSession, Role
from survey.services.sessions import close_session
from tests.conftest import TEST_PASSWORD
from tests.web.filecheck import cells, pdf_text
from tests.web.test_results_pages import cast

pytestmark = pytest.mark.browser


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/sessions")


def log_out(page) -> None:
    page.click("header.top form button")
    page.wait_for_url("**/login")


def test_admin_creates_assessor_organizer_shares_assessor_downloads(
    live_server, browser, app, client, open_session, make_user
):
    session = open_session.session
    session_id, title = session.id, session.title
    cast(client, open_session.codes[:6], "good")
    cast(client, open_session.codes[30:33], "poor")
    close_session(db.session.get(EvalSession, session_id), None)
    admin = make_user("guanliyuan", role=Role.ADMIN).username
    db.session.commit()  # end the test's transaction: the server needs SQLite's write lock

    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()

    # The administrator creates the assessor's account and reads the password shown once.
    log_in(page, live_server, admin, TEST_PASSWORD)
    page.click("text=用户管理")
    page.fill("#username", "kaohezu1")
    page.fill("#display_name", "考核组 张三")
    page.select_option("#role", "assessor")
    page.click("form.card button[type=submit]")
    password = page.locator("#new-password").inner_text().strip()
    assert len(password) >= 8
    assert "密码只显示这一次" in page.content()
    log_out(page)

    # The organizer shares the closed session with the assessor, read only.
    log_in(page, live_server, open_session.organizer, open_session.password)
    page.goto(f"{live_server}/sessions/{session_id}")
    sharing = page.locator("#sharing")
    assert "尚未授权" in sharing.inner_text()
    sharing.locator("#username").fill("kaohezu1")
    sharing.locator("#level").select_option("assess")
    sharing.locator("button[type=submit]").last.click()
    page.wait_for_url(f"**/sessions/{session_id}#sharing")
    row = page.locator("#sharing table tbody tr").first.inner_text()
    assert "考核组 张三" in row and "kaohezu1" in row and "查看结果" in row
    log_out(page)

    # The assessor logs in with the shown password, finds the session and downloads.
    log_in(page, live_server, "kaohezu1", password)
    page.click(f"text={title}")
    page.click("text=查看结果与下载")
    assert page.locator("h1").inner_text() == "测评结果"

    with page.expect_download() as xlsx_download:
        page.click("a[href$='/results/download/xlsx']")
    values = [str(value) for row in cells(xlsx_download.value.path().read_bytes()) for value in row]
    assert any(title in value for value in values)
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")

    with page.expect_download() as pdf_download:
        page.click("a[href$='/results/download/pdf']")
    data = pdf_download.value.path().read_bytes()
    assert data.startswith(b"%PDF")
    assert title in pdf_text(data)
    assert pdf_download.value.suggested_filename.endswith(".pdf")
    context.close()
