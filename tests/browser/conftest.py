"""A live server and Debian's chromium driven by Playwright."""

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from survey.extensions import db, write_intent
from tests.conftest import requirement_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_server(app):
    """Serve the test app on a free local port for the length of one test.

    The server's threads lock as production does (BEGIN IMMEDIATE for writes). The test's own
    thread reads the database while the browser works, so its transactions start deferred:
    a test's read must not hold the write lock a page needs. The production mode with
    separate processes is covered by tests/cli/test_readme_commands.py and tests/reliability.
    """
    db.session.commit()
    token = write_intent.set(False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app.config["PUBLIC_BASE_URL"]
    server.shutdown()
    thread.join()
    db.session.commit()
    write_intent.reset(token)


@pytest.fixture(scope="session")
def fontconfig_with_cjk(tmp_path_factory):
    """Let chromium find the Noto CJK font shipped through PyPI, so Chinese is not boxes."""
    import noto_cjk_sans_otc

    font_dir = Path(noto_cjk_sans_otc.__file__).parent
    config = tmp_path_factory.mktemp("fontconfig") / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f'<include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>{font_dir}</dir>'
        "</fontconfig>"
    )
    return str(config)


@pytest.fixture(scope="session")
def playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        requirement_missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright, fontconfig_with_cjk):
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        requirement_missing("chromium is not installed (apt-get install chromium)")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        env={**os.environ, "FONTCONFIG_FILE": fontconfig_with_cjk},
    )
    yield browser
    browser.close()


def end_test_transactions(page) -> None:
    """End the test's own transaction whenever the browser sends a request.

    Under production locking a transaction the test left open (reading an attribute after a
    commit begins one) holds SQLite's write lock, and the browser's next POST would wait it
    out; IsolatedClient does the same before each test-client request. The handler holds the
    Session object itself, not db.session: it runs in Playwright's greenlet, outside the
    test's app context.
    """
    session = db.session()
    page.on("request", lambda _request: session.commit())


@pytest.fixture
def page(app, browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    end_test_transactions(page)
    yield page
    context.close()
