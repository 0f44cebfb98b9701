"""What a phone's browser really fetches for a ballot: at most 3 requests and 5 KB, no 404."""

import pytest

pytestmark = pytest.mark.browser


def test_chromium_loads_the_ballot_in_three_requests_and_5_kb(live_server, browser, open_session):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    finished, failed = [], []
    page.on("requestfinished", lambda request: finished.append(request))
    page.on("requestfailed", lambda request: failed.append(request))
    page.goto(f"{live_server}/v/{open_session.codes[0]}", wait_until="networkidle")
    assert page.locator("fieldset.s").count() > 0
    assert "已评价 0 /" in page.locator("#progress").inner_text()  # the script ran
    assert failed == []
    statuses = [request.response().status for request in finished]
    assert statuses == [200] * len(finished)  # no favicon 404, nothing else
    assert len(finished) <= 3
    assert not any(request.url.endswith("favicon.ico") for request in finished)
    encodings = [request.response().header_value("content-encoding") for request in finished]
    assert encodings == ["gzip"] * len(finished)
    # Transfer size as DevTools counts it: response headers and the encoded body.
    received = sum(
        request.sizes()["responseHeadersSize"] + request.sizes()["responseBodySize"]
        for request in finished
    )
    print(f"ballot page in Chromium: {len(finished)} requests, {received} bytes received")
    assert received <= 5 * 1024, received
    context.close()
