"""Pull the plug mid-vote: SIGKILL gunicorn and its workers, restart, and lose no ballot.

Phones keep submitting from threads while the whole process group is killed. After a restart,
every ballot acknowledged with 303 must be stored, the number of used codes must equal the
number of ballots (no code used up without its ballot, no ballot without its code), and a phone
that never got an answer can simply resend its form: it gets the receipt, stored exactly once.
Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
"""

import http.client
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from survey import PROJECT_ROOT
from survey.extensions import db
from survey.models import Ballot, BallotCode, CodeStatus
from survey.services.demo import create_demo
from tests.conftest import requirement_missing
from tests.vote.conftest import ballot_form, count_ballots, full_answers, sealed_contents

PHONES = 16  # threads submitting at once
CODES_PER_GROUP = 150
KILL_AFTER = 60  # acknowledged ballots before the plug is pulled


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving the test database from its own instance folder, in its own group."""

    def __init__(self, app, instance: Path):
        self.port = free_port()
        self.instance = instance
        self.env = {
            **os.environ,
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "BALLOT_CODE_KEY": app.config["BALLOT_CODE_KEY"],
            "PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
            "SURVEY_INSTANCE_PATH": str(instance),
            "BIND": f"127.0.0.1:{self.port}",
            "WORKERS": "3",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.instance / "gunicorn.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:survey.gunicorn_conf"]
            + ["survey:create_app()"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail("gunicorn did not start:\n" + self.log())

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return  # no process of the group is left
            time.sleep(0.05)
        pytest.fail("gunicorn workers survived SIGKILL")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            body = urlencode(form) if form is not None else None
            headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def log(self) -> str:
        path = self.instance / "gunicorn.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def server(app, tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        requirement_missing("gunicorn is not installed")
    running = Server(app, tmp_path)
    yield running
    running.stop()


def test_sigkill_mid_burst_loses_no_acknowledged_ballot(app, client, server):
    demo = create_demo(codes_per_group=CODES_PER_GROUP)
    db.session.commit()  # what the `survey demo` command's end does
    session_id = demo.session_id
    # Each phone's filled form, fetched through the test client (same database, same keys).
    forms = []
    for code in (code for codes in demo.codes.values() for code in codes):
        fields, page = ballot_form(client, code)
        forms.append((code, {**fields, **full_answers(page, "fairly_good")}))
    server.start()

    acknowledged: list[str] = []
    unanswered: list[tuple[str, dict]] = []  # sent, but the server died before answering
    refused: list[tuple[str, int]] = []
    lock = threading.Lock()
    queue = iter(forms)
    killed = threading.Event()

    def phone():
        while not killed.is_set():
            with lock:
                item = next(queue, None)
            if item is None:
                return
            code, form = item
            try:
                status, _ = server.request("POST", "/v/submit", form)
            except ConnectionRefusedError:
                return  # the server is gone: this one was never sent
            except (OSError, http.client.HTTPException):  # sent, answer cut off
                with lock:
                    unanswered.append(item)
                continue
            with lock:
                (acknowledged.append(code) if status == 303 else refused.append((code, status)))

    threads = [threading.Thread(target=phone, daemon=True) for _ in range(PHONES)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
        time.sleep(0.005)
    killed.set()  # phones take no new codes; those already sending are in flight
    server.kill()
    for thread in threads:
        thread.join(timeout=60)
    assert not refused, refused
    assert len(acknowledged) >= KILL_AFTER

    server.start()
    stored = count_ballots(session_id)
    in_flight = len(unanswered)
    print(f"killed with {len(acknowledged)} acknowledged, {in_flight} in flight; {stored} stored")
    assert consistent(session_id) == stored
    # Every acknowledged ballot survived; unanswered ones may or may not have been stored.
    assert len(acknowledged) <= stored <= len(acknowledged) + len(unanswered)
    for code in acknowledged[:20]:
        assert server.request("GET", f"/v/{code}")[0] == 409  # used, through the new server

    # A phone that got no answer resends the same form: the receipt, whether stored or not.
    for _code, form in unanswered:
        assert server.request("POST", "/v/submit", form)[0] == 303
    # The rest of the hall votes on the restarted server.
    sent = set(acknowledged) | {code for code, _ in unanswered}
    rest = [(code, form) for code, form in forms if code not in sent]
    for _code, form in rest[:20]:
        assert server.request("POST", "/v/submit", form)[0] == 303
    expected = len(acknowledged) + len(unanswered) + len(rest[:20])
    assert count_ballots(session_id) == expected
    assert consistent(session_id) == expected


def consistent(session_id: int) -> int:
    """Check that used codes, ballots and complete answers agree; return the ballot count."""
    db.session.rollback()
    used = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(BallotCode)
        .where(BallotCode.session_id == session_id, BallotCode.status == CodeStatus.USED)
    )
    ballots = count_ballots(session_id)
    without_answers = sum(
        not any(ratings)
        for ratings in db.session.scalars(
            sa.select(Ballot.ratings).where(Ballot.session_id == session_id)
        )
    )
    assert used == ballots, f"{used} codes used but {ballots} ballots stored"
    assert without_answers == 0
    # While open the ballots are sealed: each must open with the session key and hold answers.
    assert all(ballot.ratings for ballot in sealed_contents(session_id))
    db.session.rollback()  # the server writes next: hold no lock
    return ballots
