"""An organizer prints the cards and puts the meeting screen up; the count moves by itself."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from survey.models import SubjectRole
from survey.services import codes as code_service
from survey.services import roster
from survey.services import sessions as sessions_service
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput
from tests.ballots import add_sealed
from tests.browser.conftest import end_test_transactions
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# The policy the platform is meant to run under: nothing inline, nothing from elsewhere.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'"
)


@pytest.fixture
def meeting(app, make_user):
    owner = make_user()
    session = sessions_service.create_session(
        owner,
        SessionInput(title="2025年度县委领导班子党风廉政建设责任制民主测评", unit="某县委"),
    )
    for name, post, kind in (
        ("县委领导班子", "", SubjectRole.TEAM),
        ("张明", "县委书记", SubjectRole.PRINCIPAL),
        ("李华", "县委副书记、县长", SubjectRole.MEMBER),
    ):
        roster.add_subject(session, SubjectInput(name, post, kind), owner)
    sessions_service.add_group(session, GroupInput("县级领导干部", 9, "#c0392b"), owner)
    sessions_service.add_group(session, GroupInput("部门主要负责人", 3, "#2471a3"), owner)
    code_service.issue_codes(session.groups[0], 9, owner)
    code_service.issue_codes(session.groups[1], 3, owner)
    return session, owner


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/sessions")


def test_organizer_downloads_the_card_sheets(live_server, page, meeting, tmp_path):
    session, owner = meeting
    log_in(page, live_server, owner.username)
    page.goto(f"{live_server}/sessions/{session.id}/codes")
    assert "已发放" in page.locator("table.codes").inner_text()
    with page.expect_download() as download_info:
        page.click("#download-all")
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / "cards.pdf"
    download.save_as(saved)
    # 9 codes → 2 pages for the first group, then 1 page for the second.
    assert len(PdfReader(saved).pages) == 3
    if shutil.which("pdftoppm") and shutil.which("zbarimg"):
        prefix = tmp_path / "p"
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-f", "3", "-l", "3", "-singlefile", saved, prefix],
            check=True,
        )
        found = subprocess.run(
            ["zbarimg", "--quiet", "--raw", f"{prefix}.png"], capture_output=True, text=True
        ).stdout.split()
        assert len(found) == 3
        assert all(url.startswith(f"{live_server}/v/") for url in found)
    # The download is in the audit log.
    page.goto(f"{live_server}/sessions/{session.id}/audit")
    assert "下载测评码卡片" in page.locator("table.audit").inner_text()


def test_the_screen_counts_a_new_ballot_without_reloading(live_server, browser, meeting, tmp_path):
    session, owner = meeting
    sessions_service.open_session(session, owner)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
    page = context.new_page()
    end_test_transactions(page)
    requests, violations = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    screen_url = f"{live_server}/sessions/{session.id}/screen"

    def with_strict_csp(route):
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": STRICT_CSP},
        )

    page.route(screen_url, with_strict_csp)
    log_in(page, live_server, owner.username)
    page.goto(screen_url)
    submitted = page.locator("#submitted")
    assert submitted.inner_text() == "0"
    assert page.locator("#expected").inner_text() == "12"
    loads = []
    page.on("load", lambda: loads.append(1))

    add_sealed(session, [{(session.subjects[0].id, "overall"): "good"}])
    inserted = time.monotonic()
    expect(submitted).to_have_text("1", timeout=5000)
    elapsed = time.monotonic() - inserted
    assert elapsed < 2.5, f"the screen took {elapsed:.1f} s to show the ballot"
    assert loads == []  # updated in place, not reloaded
    assert page.locator("#percent").inner_text() == "8%"
    assert page.evaluate("document.getElementById('progress-bar').value") == 1

    assert violations == []
    assert all(url.startswith(live_server) for url in requests), requests
    # The QR image really loaded.
    assert page.evaluate("document.querySelector('.screen-qr img').naturalWidth") > 0

    shot = tmp_path / "screen.png"
    page.screenshot(path=str(shot))
    if os.environ.get("SAVE_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOTS / "screen.png")

    # Closing switches the screen to its final page by itself.
    sessions_service.close_session(session, owner)
    page.wait_for_selector("text=测评已结束", timeout=5000)
    assert page.locator("#submitted").inner_text() == "1"
    context.close()
