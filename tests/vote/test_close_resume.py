"""A close interrupted at any step is 正在结束, shows no results, and resumes to the same end."""

import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey.domain.seal import seal_of
from survey.extensions import db
from survey.models import (
    AuditEntry,
    Ballot,
    BallotCode,
    CodeStatus,
    EvalSession,
    PaperEntry,
    SealedBallot,
    SessionState,
)
from survey.services import closing
from survey.services.anonymity import ScrubPending
from survey.services.results import compute_results, seal_document
from survey.services.sealing import key_path
from survey.services.sessions import close_session
from tests.ballots import ratings_of
from tests.conftest import csrf_token_from, login
from tests.vote.conftest import ballot_form, rating_fields

OPTIONS = ["good", "fairly_good", "average", "poor"]
VOTERS = 12


def vote(client, codes) -> Counter:
    """Cast distinct ballots; return them as a multiset of (answers, comment)."""
    cast = Counter()
    for i, code in enumerate(codes):
        fields, page = ballot_form(client, code)
        names = rating_fields(page)
        answers = {name: OPTIONS[(i // 4**k) % 4] for k, name in enumerate(names)}
        comment = f"第{i}张的意见"
        response = client.post("/v/submit", data={**fields, **answers, "c-overall": comment})
        assert response.status_code == 303
        cast[(tuple(sorted(answers.values())), comment)] += 1
    return cast


def stored(session_id: int) -> Counter:
    db.session.rollback()
    found = Counter()
    for ballot in db.session.scalars(sa.select(Ballot).where(Ballot.session_id == session_id)):
        values = tuple(sorted(ratings_of(ballot).values()))
        found[(values, ballot.comment)] += 1
    return found


def assert_cleanly_closed(session_id: int, cast: Counter) -> None:
    db.session.rollback()
    session = db.session.get(EvalSession, session_id)
    assert session.state == SessionState.CLOSED and session.close_step is None
    assert stored(session_id) == cast
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaperEntry)) == 0
    codes = db.session.scalars(sa.select(BallotCode).where(BallotCode.session_id == session_id))
    codes = list(codes)
    assert Counter(c.status for c in codes)[CodeStatus.USED] == sum(cast.values())
    assert all(c.code_sealed is None and c.submit_token_hash is None for c in codes)
    assert not key_path(session_id).exists()
    # One close in the audit log, and a seal that verifies against the stored ballots.
    closes = db.session.scalars(
        sa.select(AuditEntry.detail).where(
            AuditEntry.session_id == session_id, AuditEntry.action == "close_session"
        )
    ).all()
    assert len(closes) == 1 and f"收回测评表{sum(cast.values())}张" in closes[0]
    assert session.seal == seal_of(seal_document(session))
    assert compute_results(session).received == sum(cast.values())
    if db.engine.dialect.name == "sqlite":
        database = Path(db.engine.url.database)
        wal = database.with_name(database.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0


def fail(error: Exception):
    def raising(*_args, **_kwargs):
        raise error

    return raising


# Where each interruption strikes: inside the transaction that opens the seals (after the
# shuffled insert, before its commit), after it committed (key not yet destroyed), and in the
# scrub (a reader that never lets go of the WAL, or a worker killed during VACUUM).
INTERRUPTIONS = {
    "open": ("seal_session", RuntimeError("worker killed while opening the seals"), "open"),
    "key": ("destroy_session_key", OSError("worker killed before the key was destroyed"), "key"),
    "scrub": ("scrub_storage", ScrubPending("读者未结束"), "scrub"),
}


@pytest.mark.parametrize("where", INTERRUPTIONS)
@pytest.mark.parametrize("resume_by", ["cli", "page"])
def test_a_close_interrupted_at_each_step_resumes_to_the_same_end(
    app, client, runner, open_session, monkeypatch, where, resume_by
):
    session_id = open_session.session.id
    cast = vote(client, open_session.codes[:VOTERS])
    name, error, step = INTERRUPTIONS[where]
    with monkeypatch.context() as patch:
        patch.setattr(closing, name, fail(error))
        with pytest.raises(type(error)):
            close_session(open_session.session, None)

    db.session.rollback()
    session = db.session.get(EvalSession, session_id)
    assert session.state == SessionState.CLOSING and session.close_step == step
    # Nothing half-done is visible: either all seals are still closed or all are open.
    sealed = db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot))
    opened = db.session.scalar(sa.select(sa.func.count()).select_from(Ballot))
    assert (sealed, opened) == ((VOTERS, 0) if step == "open" else (0, VOTERS))
    assert key_path(session_id).exists() == (step in ("open", "key"))
    # The session refuses ballots, and shows no results until the close is done.
    fields, page = ballot_form(client, open_session.codes[VOTERS])
    assert "已结束" in page
    login(client, open_session.organizer, open_session.password)
    assert client.get(f"/sessions/{session_id}/results").status_code != 200
    html = client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "测评正在结束" in html and "继续结束" in html and "已结束</span>" not in html

    if resume_by == "cli":
        result = runner.invoke(args=["close", str(session_id)])
        assert result.exit_code == 0, result.output
        assert f"共收回测评表 {VOTERS} 张" in result.output
    else:
        response = client.post(
            f"/sessions/{session_id}/close/resume", data={"csrf_token": csrf_token_from(html)}
        )
        assert response.status_code == 302
        assert f"测评已结束，共收回测评表{VOTERS}张" in client.get(
            response.headers["Location"]
        ).get_data(as_text=True)
    assert_cleanly_closed(session_id, cast)
    # Resuming again changes nothing and says the session is already closed.
    again = runner.invoke(args=["close", str(session_id)])
    assert again.exit_code == 1 and "只有进行中的测评可以结束" in again.output
    assert_cleanly_closed(session_id, cast)


def test_an_uninterrupted_close_ends_in_the_same_state(app, client, open_session):
    cast = vote(client, open_session.codes[:VOTERS])
    assert close_session(open_session.session, None) == VOTERS
    assert_cleanly_closed(open_session.session.id, cast)


def test_the_web_close_returns_at_once_and_finishes_in_the_background(app, client, open_session):
    app.config["CLOSE_WAIT_SECONDS"] = 0
    session_id = open_session.session.id
    cast = vote(client, open_session.codes[:VOTERS])
    login(client, open_session.organizer, open_session.password)
    url = f"/sessions/{session_id}/close"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    for _ in range(200):
        html = client.get(f"/sessions/{session_id}").get_data(as_text=True)
        if "测评已结束" in html:
            break
        assert "测评正在结束" in html and 'http-equiv="refresh"' in html
        time.sleep(0.05)
    else:
        pytest.fail("the background close did not finish in 10 s")
    assert_cleanly_closed(session_id, cast)
