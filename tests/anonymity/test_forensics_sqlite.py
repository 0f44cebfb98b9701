"""SQLite, examined as a forensic examiner would: the file, its WAL and its shared memory.

While the session is open no ballot's content is in any of them; after the close the ballots
are in clear, but stored in an order unrelated to the voting order, the WAL is empty and the
key that sealed them is gone.
"""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Ballot, BallotCode
from tests.anonymity.forensics import (
    VOTERS,
    close,
    files_under,
    make_app,
    marks_in,
    spearman,
    vote_in_known_order,
)


def test_sqlite_files_hold_no_ballot_while_open_and_no_order_after_close(tmp_path, instance_dir):
    database = tmp_path / "forensic.sqlite"
    keys = tmp_path / "keys"
    app = make_app(f"sqlite:///{database}", keys)
    vote = vote_in_known_order(app)

    # While open: the database, its -wal and -shm, byte for byte, hold no mark.
    files = files_under(tmp_path)
    assert {database.name, database.name + "-wal"} <= {f.name for f in files}
    for path in files:
        if path.parent != keys:
            assert marks_in(path.read_bytes()) == [], f"a ballot is readable in {path.name}"
    assert [f.name for f in files_under(keys)] == [f"session-{vote.session_id}.key"]
    assert (keys / f"session-{vote.session_id}.key").stat().st_mode & 0o777 == 0o600

    assert close(app, vote.session_id) == VOTERS

    # After close: every ballot once, in clear, in the main file only; the WAL is empty.
    wal = database.with_name(database.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    found = marks_in(database.read_bytes())
    assert sorted(found) == list(range(VOTERS)), "each ballot exactly once in the file"
    assert files_under(keys) == []  # the session key is destroyed
    # The order the ballots sit in the file, and in the table, says nothing of the voting order.
    assert abs(spearman(found)) < 0.5, spearman(found)
    with app.app_context():
        table_order = [
            int(comment[9:12])
            for comment in db.session.scalars(sa.select(Ballot.comment).order_by(Ballot.id))
        ]
        codes = db.session.scalars(
            sa.select(BallotCode.code_hash).where(BallotCode.session_id == vote.session_id)
        ).all()  # rowid order: the order the rows sit in
        db.session.remove()
    assert abs(spearman(table_order)) < 0.5
    used = [vote.hashes[h] for h in codes if h in vote.hashes]
    assert len(used) == VOTERS and abs(spearman(used)) < 0.5, spearman(used)
