"""At close the ballots are rewritten in random order and the old copies scrubbed away."""

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Ballot, BallotCode, CodeStatus, EvalSession, SealedBallot, SessionState
from survey.services.sealing import key_path
from survey.services.sessions import close_session
from tests.ballots import ratings_of
from tests.vote.conftest import ballot_form, code_statuses, count_ballots, rating_fields

OPTIONS = ["good", "fairly_good", "average", "poor"]


def vote_in_order(client, codes) -> None:
    """Cast ballot i with answers that spell i in base 4, so its place in line is readable."""
    for i, code in enumerate(codes):
        fields, page = ballot_form(client, code)
        names = rating_fields(page)
        answers = {name: OPTIONS[(i // 4**k) % 4] for k, name in enumerate(names)}
        assert client.post("/v/submit", data={**fields, **answers}).status_code == 303


def voting_position(ballot: Ballot, subject_order: dict[int, int]) -> int:
    digits = {subject_order[s]: OPTIONS.index(v) for (s, _item), v in ratings_of(ballot).items()}
    return sum(digit * 4**k for k, digit in digits.items())


def test_close_rewrites_ballots_and_leaves_nothing_that_links_them(app, client, open_session):
    session = open_session.session
    voters = 16
    vote_in_order(client, open_session.codes[:voters])
    db.session.rollback()
    old_ids = set(db.session.scalars(sa.select(SealedBallot.id)))
    assert len(old_ids) == voters
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    assert key_path(session.id).exists()

    assert close_session(session, None) == voters
    db.session.rollback()
    new_ids = set(db.session.scalars(sa.select(Ballot.id)))
    assert len(new_ids) == voters and not new_ids & old_ids
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 0
    assert not key_path(session.id).exists()  # destroyed once the close committed
    codes = db.session.scalars(sa.select(BallotCode).where(BallotCode.session_id == session.id))
    assert all(c.code_sealed is None and c.submit_token_hash is None for c in codes)

    order = {s.id: k for k, s in enumerate(session.subjects)}
    engine = db.engine.dialect.name
    if engine == "sqlite":
        physical = db.session.scalars(sa.select(Ballot).order_by(Ballot.id)).all()
        database = Path(db.engine.url.database)
        wal = database.with_name(database.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        # Read by another process: opening and closing the file here would drop every POSIX
        # lock this process's SQLite connections hold on it, and the next process to close the
        # database would take itself for the last one and delete the -wal and -shm under us.
        raw = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())",
                str(database),
            ],
            capture_output=True,
            check=True,
        ).stdout
        assert not any(old.encode() in raw for old in old_ids)
    else:
        xmins = db.session.execute(sa.text("SELECT DISTINCT xmin::text FROM ballot")).all()
        assert len(xmins) == 1  # one transaction wrote them all
        code_xmins = db.session.execute(
            sa.text("SELECT DISTINCT xmin::text FROM ballot_code WHERE session_id = :s"),
            {"s": session.id},
        ).all()
        assert code_xmins == xmins  # used and unused codes alike were rewritten at close
        ids = [row[0] for row in db.session.execute(sa.text("SELECT id FROM ballot ORDER BY ctid"))]
        physical = [db.session.get(Ballot, i) for i in ids]
    positions = [voting_position(b, order) for b in physical]
    assert sorted(positions) == list(range(voters))
    assert positions != list(range(voters))  # 1 chance in 16! of a false alarm


def test_closed_session_accepts_nothing(app, client, open_session):
    session = open_session.session
    fields, page = ballot_form(client, open_session.codes[0])
    close_session(session, None)
    response = client.post("/v/submit", data={**fields, **{n: "good" for n in rating_fields(page)}})
    assert response.status_code == 410
    assert "已结束" in response.get_data(as_text=True)
    assert count_ballots(session.id) == 0


def test_submits_racing_the_close_are_counted_or_refused_and_totals_agree(
    app, client, open_session
):
    session_id = open_session.session.id
    forms = []
    for code in open_session.codes[:40]:
        fields, page = ballot_form(client, code)
        forms.append({**fields, **{n: "good" for n in rating_fields(page)}})
    start = threading.Barrier(len(forms) + 1)

    def send(form):
        phone = app.test_client()
        start.wait()
        return phone.post("/v/submit", data=form).status_code

    def close():
        start.wait()
        time.sleep(0.02)
        with app.app_context():
            return close_session(db.session.get(EvalSession, session_id), None)

    with ThreadPoolExecutor(max_workers=len(forms) + 1) as pool:
        closing = pool.submit(close)
        statuses = list(pool.map(send, forms))
        counted_at_close = closing.result()

    assert set(statuses) <= {303, 410}
    accepted = statuses.count(303)
    assert accepted == counted_at_close == count_ballots(session_id)
    assert code_statuses(session_id).get(CodeStatus.USED, 0) == accepted
    db.session.rollback()
    assert db.session.get(EvalSession, session_id).state == SessionState.CLOSED
