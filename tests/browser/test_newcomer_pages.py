"""What a newcomer and an organizer meet, seen in Chromium: layout, wording, errors, a11y."""

import json
import re
from pathlib import Path

import pytest

from survey.extensions import db
from tests.conftest import requirement_missing
from tests.web.filecheck import pdf_text
from tests.web.known_votes import OVERALL_COMMENT, cast_known_votes_and_close

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
RESULT_HEADINGS = ("较好以上率", "分档", "得分 / 扣分 / 评定", "个人得分", "最终得分")


@pytest.fixture
def closed_session(app, open_session):
    return cast_known_votes_and_close(app, open_session), open_session


def new_page(browser, **options):
    context = browser.new_context(locale="zh-CN", **options)
    return context, context.new_page()


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/sessions")


def overflow(page, selector: str = "html") -> int:
    """How many pixels the element is wider than its box (0: no sideways scrolling)."""
    return page.eval_on_selector(selector, "e => e.scrollWidth - e.clientWidth")


def too_wide(page) -> list[str]:
    """The first elements reaching past the window's right edge, to say what overflows."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                         || e.scrollWidth > e.clientWidth + 1)
            .slice(0, 8)
            .map(e => `${e.tagName}.${e.className} ${e.clientWidth}/${e.scrollWidth}`
                      + ` ${Math.round(e.getBoundingClientRect().right)}`)"""
    )


# ---- the results table ----------------------------------------------------------------------


def test_results_table_fits_1366_and_stays_readable_on_a_360_phone(
    live_server, browser, closed_session
):
    session, demo = closed_session
    context, page = new_page(browser, viewport={"width": 1366, "height": 768})
    log_in(page, live_server, demo.organizer, demo.password)
    page.goto(f"{live_server}/sessions/{session.id}/results")
    headings = page.locator("table.results").first.locator("thead th").all_inner_texts()
    for heading in RESULT_HEADINGS:
        assert heading in headings
    assert overflow(page) == 0, too_wide(page)
    assert overflow(page, "div.scroll") == 0  # the table's own box does not scroll either
    last = page.locator("table.results").first.locator("thead th").last.bounding_box()
    assert last["x"] + last["width"] <= 1366
    context.close()

    context, page = new_page(browser, viewport={"width": 360, "height": 740}, is_mobile=True)
    log_in(page, live_server, demo.organizer, demo.password)
    page.goto(f"{live_server}/sessions/{session.id}/results")
    assert overflow(page) == 0, too_wide(page)
    lines = page.eval_on_selector_all(
        "table.results.stack tbody tr:nth-child(2) td",
        """cells => cells.map(td => [
            getComputedStyle(td, '::before').content.replace(/^"|"$/g, ''),
            td.innerText.trim(),
            getComputedStyle(td).display,
        ])""",
    )
    # Each figure sits on a line of its own with its label, readable without the header row.
    shown = {label: value for label, value, display in lines if display == "flex"}
    assert shown["较好以上率"] == "57.14%（8/14）" and shown["有效票"] == "14", lines
    assert shown["好"] == "5" and shown["差"] == "2"
    for heading in RESULT_HEADINGS:
        assert heading in shown
    size = "e => parseFloat(getComputedStyle(e).fontSize)"
    assert page.eval_on_selector("table.results td", size) >= 14
    context.close()


# ---- the ballot on a 320 px phone ---------------------------------------------------------


def test_the_four_options_stay_on_one_row_or_a_2x2_grid_at_320(live_server, browser, open_session):
    context, page = new_page(browser, viewport={"width": 320, "height": 640}, is_mobile=True)
    page.goto(f"{live_server}/v/{open_session.codes[0]}")
    lines = page.locator(".o")
    assert lines.count() == 6
    for index in range(lines.count()):
        boxes = [b.bounding_box() for b in lines.nth(index).locator("label").all()]
        assert len(boxes) == 4
        rows = sorted({round(b["y"]) for b in boxes})
        columns = sorted({round(b["x"]) for b in boxes})
        assert (len(rows), len(columns)) in ((1, 4), (2, 2)), (rows, columns)
        assert all(b["height"] >= 44 and b["width"] >= 44 for b in boxes)  # thumb-sized
    assert overflow(page) == 0
    context.close()


# ---- a voter's errors ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v/submit", "/v/report/999999", "/v/no/such/page", "/q/sent/x"])
def test_a_voters_error_page_never_leads_to_the_organizer_login(live_server, page, path):
    response = page.goto(f"{live_server}{path}")
    assert response.status in (404, 405)
    assert "无法完成" in page.content() or "测评码" in page.content()
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert hrefs, "a voter needs a way back"
    for href in hrefs:
        assert "/login" not in href and "/sessions" not in href, href
    assert page.locator("input[name=password]").count() == 0
    page.click("a[href]")
    assert "/login" not in page.url
    assert page.locator("input[name=code]").count() == 1


# ---- the audit log, comments, other parts, /verify, file names ------------------------------


def test_an_organizer_meets_chinese_audit_comments_other_parts_and_file_names(
    live_server, browser, closed_session, tmp_path
):
    session, demo = closed_session
    context, page = new_page(browser, accept_downloads=True)
    log_in(page, live_server, demo.organizer, demo.password)
    page.goto(f"{live_server}/sessions/{session.id}/results")
    assert OVERALL_COMMENT in page.locator("ol.comments").inner_text()
    team = page.locator("#team + p").inner_text()
    assert "考核组" in team and "作风建设" in team and "录入" in team
    assert "授予“查看结果”权限" in page.content()

    team_feedback = page.locator("table tr", has_text="县委领导班子").last.locator("a").last
    with page.expect_download() as download:
        team_feedback.click()
    name = download.value.suggested_filename
    assert name.endswith(".pdf") and "县委领导班子" in name and "书面反馈" in name
    assert OVERALL_COMMENT in pdf_text(download.value.path().read_bytes())
    with page.expect_download() as download:
        page.click("a[href$='/download/json']")
    assert "测评" in download.value.suggested_filename
    # The assessment team signs off (the other parts not applicable here), then the archive
    # carries both seals and an archivist's check can pass.
    page.check("input[name=waive_parts]")
    page.click("form[action$='/results/sign-off'] button[type=submit]")
    assert "结果封存码" in page.content()
    with page.expect_download() as download:
        page.click("a[href$='/download/json']")
    archive = tmp_path / "archive.json"
    download.value.save_as(archive)

    page.goto(f"{live_server}/sessions/{session.id}/audit")
    actions = page.locator("table.audit tbody tr td:nth-child(3)").all_inner_texts()
    assert "下载文件" in actions and "结束测评" in actions
    assert all(re.search(r"[\u4e00-\u9fff]", a) and not re.search("[A-Za-z]", a) for a in actions)
    context.close()

    # An archivist with no account checks the file.
    context, page = new_page(browser)
    page.goto(f"{live_server}/verify")
    assert "/login" not in page.url
    page.set_input_files("#archive", str(archive))
    page.click("form button[type=submit]")
    assert page.locator(".flash").inner_text().startswith("校验结论：通过")
    assert json.loads(archive.read_text())["seal"] == session.seal
    context.close()


# ---- accessibility: axe-core finds no WCAG 2.2 A/AA violation --------------------------------


def axe_violations(page) -> list[dict]:
    if not AXE.exists():
        requirement_missing("axe-core is not installed (cd tests/browser && npm ci)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async tags => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
            }));
        }""",
        WCAG_TAGS,
    )


def test_axe_finds_no_wcag_violations_on_the_pages_people_meet(
    live_server, browser, app, open_session
):
    demo = open_session
    session_id = demo.session.id
    db.session.commit()  # end the test's transaction: the server needs SQLite's write lock
    found: dict[str, list] = {}
    # bypass_csp: the app's CSP forbids the injected script, as it should.
    context, page = new_page(browser, bypass_csp=True, viewport={"width": 390, "height": 844})

    def check(name: str, url: str | None = None) -> None:
        if url:
            page.goto(url)
        found[name] = axe_violations(page)

    check("code entry", f"{live_server}/v")
    check("ballot", f"{live_server}/v/{demo.codes[0]}")
    page.locator(".o").first.locator("label").first.click()
    for line in page.locator(".o").all():
        line.locator("label").first.click()
    page.click("#ballot button[type=submit]")
    page.wait_for_url("**/v/done**")
    check("receipt")
    check("login", f"{live_server}/login")
    log_in(page, live_server, demo.organizer, demo.password)
    check("session (open)", f"{live_server}/sessions/{session_id}")
    check("screen (open)", f"{live_server}/sessions/{session_id}/screen")

    cast_known_votes_and_close(app, _with_unused_codes(demo))
    check("session (closed)", f"{live_server}/sessions/{session_id}")
    check("screen (closed)", f"{live_server}/sessions/{session_id}/screen?show=results")
    check("results", f"{live_server}/sessions/{session_id}/results")
    context.close()

    report = {name: v for name, v in found.items() if v}
    assert not report, json.dumps(report, ensure_ascii=False, indent=1)


def _with_unused_codes(demo):
    """The demo minus the code the browser already used."""
    return type(demo)(demo.session, demo.codes[1:], demo.organizer, demo.password)
