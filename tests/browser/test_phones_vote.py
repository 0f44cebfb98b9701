"""Twenty phones vote at once while the meeting screen counts them."""

import pytest
from playwright.sync_api import expect

from survey.extensions import db
from survey.services.demo import create_demo

pytestmark = pytest.mark.browser

WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2219A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)


def test_twenty_phones_vote_and_the_screen_reaches_twenty(live_server, browser, playwright, app):
    demo = create_demo(codes_per_group=10)
    db.session.commit()  # what the `survey demo` command's end does
    codes = [code for group in demo.codes.values() for code in group]

    screen_context = browser.new_context(viewport={"width": 1280, "height": 720})
    screen = screen_context.new_page()
    screen.goto(f"{live_server}/login")
    screen.fill("#username", demo.username)
    screen.fill("#password", demo.password)
    screen.click("button[type=submit]")
    screen.goto(f"{live_server}/sessions/{demo.session_id}/screen")
    assert screen.locator("#submitted").inner_text() == "0"

    kinds = [
        playwright.devices["iPhone 13"],
        playwright.devices["Pixel 5"],
        {**playwright.devices["Pixel 5"], "user_agent": WECHAT_UA},
    ]
    phones = []
    for index, code in enumerate(codes):
        context = browser.new_context(**kinds[index % len(kinds)], locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_server}/v/{code.replace('-', '').lower()}")
        for question in page.locator("fieldset.s").all():
            radios = question.locator("input[type=radio]")
            if radios.count():
                radios.nth(index % 2).check()
        phones.append((context, page))

    for _, page in phones:  # all submit without waiting for one another
        page.locator("button[type=submit]").click(no_wait_after=True)
    for context, page in phones:
        page.wait_for_url(f"{live_server}/v/done")
        assert "提交成功" in page.content()
        assert context.cookies() == []
        assert page.evaluate("localStorage.length") == 0
        context.close()

    # The page polls by itself (no reload); a CSP forbids eval, so poll the text from outside.
    expect(screen.locator("#submitted")).to_have_text("20", timeout=5000)
    screen_context.close()
