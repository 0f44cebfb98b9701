"""Two app servers on one database: close on one while phones still vote on the other.

Two gunicorn instances share the test database (PostgreSQL with TEST_DATABASE_URL, else the
SQLite file) and the session key folder, as two machines behind one proxy would. Phones post
their filled ballots to both, alternating; once some ballots are in, the organizer closes the
session through server A while the phones keep going. Afterwards every ballot acknowledged
with 303 is stored exactly once, every refused one got the closed page (410, 测评已结束), and
nothing else happened: no error, no ballot stored without its code used or the other way.
"""

import http.client
import http.cookiejar
import importlib.util
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from survey.extensions import db
from survey.models import SessionState
from survey.services.ballots import ballot_count
from survey.services.demo import create_demo
from tests.conftest import csrf_token_from, requirement_missing
from tests.reliability.test_sigkill import Server
from tests.vote.conftest import ballot_form, code_statuses, full_answers

PHONES = 8
CLOSE_AFTER = 30  # acknowledged ballots before the organizer closes
PAUSE = 0.1  # seconds each phone waits after its answer


@pytest.fixture
def servers(app, tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        requirement_missing("gunicorn is not installed")
    # The servers' own instance folder shares the session keys with the test's through
    # SESSION_KEY_DIR, as two machines share one directory (docs/operations.md).
    instance = tmp_path / "servers"
    instance.mkdir()
    keys = Path(app.instance_path) / "session_keys"
    (instance / "config.py").write_text(f"SESSION_KEY_DIR = {str(keys)!r}\n")
    pair = [Server(app, instance), Server(app, instance)]
    for server in pair:
        server.env["WORKERS"] = "2"
        server.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.port}"
    yield pair
    for server in pair:
        server.stop()


def close_through(server: Server, session_id: int, username: str, password: str) -> int:
    """Log in on this server and press 结束测评, as the organizer does; return the status."""
    base = f"http://127.0.0.1:{server.port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = browser.open(f"{base}/login", timeout=60).read().decode()
    form = {"username": username, "password": password, "csrf_token": csrf_token_from(page)}
    browser.open(f"{base}/login", urlencode(form).encode(), timeout=60).read()
    page = browser.open(f"{base}/sessions/{session_id}/close", timeout=60).read().decode()
    form = {"csrf_token": csrf_token_from(page), "confirm": "y"}
    request = urllib.request.Request(
        f"{base}/sessions/{session_id}/close",
        data=urlencode(form).encode(),
        headers={"Origin": base},
    )
    with browser.open(request, timeout=120) as response:
        return response.status


def test_close_on_one_server_while_the_other_takes_ballots(app, client, servers):
    demo = create_demo(codes_per_group=80)
    db.session.commit()  # what the `survey demo` command's end does
    forms = []
    for code in (code for codes in demo.codes.values() for code in codes):
        fields, page = ballot_form(client, code)
        forms.append((code, {**fields, **full_answers(page, "good")}))
    for server in servers:
        server.start()

    acknowledged: list[str] = []
    refused_closed: list[str] = []
    other: list[tuple[str, int | str]] = []
    lock = threading.Lock()
    queue = iter(enumerate(forms))

    def phone():
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            number, (code, form) = item
            server = servers[number % 2]
            try:
                status, body = server.request("POST", "/v/submit", form)
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    other.append((code, type(error).__name__))
                continue
            time.sleep(PAUSE)  # a hall's pace, so that phones are still voting during the close
            with lock:
                if status == 303:
                    acknowledged.append(code)
                elif status == 410 and "测评已结束" in body:
                    refused_closed.append(code)
                else:
                    other.append((code, status))

    threads = [threading.Thread(target=phone, daemon=True) for _ in range(PHONES)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < CLOSE_AFTER and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acknowledged) >= CLOSE_AFTER, servers[0].log() + servers[1].log()
    status = close_through(servers[0], demo.session_id, demo.username, demo.password)
    for thread in threads:
        thread.join(timeout=120)

    print(f"{len(acknowledged)} acknowledged, {len(refused_closed)} refused as closed")
    assert status == 200
    assert other == [], other
    assert refused_closed, "every phone was faster than the close: nothing tested"
    assert len(acknowledged) + len(refused_closed) == len(forms)
    # Refused on both servers, not only on the one that closed.
    late = {code for code in refused_closed}
    late_numbers = [n for n, (code, _) in enumerate(forms) if code in late]
    assert {n % 2 for n in late_numbers} == {0, 1}
    # Wait for the close (it may finish in the background) and count what was kept.
    from survey.models import EvalSession

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        db.session.rollback()
        if db.session.get(EvalSession, demo.session_id).state == SessionState.CLOSED:
            break
        time.sleep(0.2)
    assert db.session.get(EvalSession, demo.session_id).state == SessionState.CLOSED
    assert ballot_count(demo.session_id) == len(acknowledged)
    from survey.models import CodeStatus

    assert code_statuses(demo.session_id).get(CodeStatus.USED, 0) == len(acknowledged)
    # A late phone that tries again, on either server, still gets the closed page.
    for server in servers:
        status, body = server.request("POST", "/v/submit", dict(forms[late_numbers[0]][1]))
        assert status == 410 and "测评已结束" in body
