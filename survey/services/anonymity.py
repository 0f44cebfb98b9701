"""Cut every link between a ballot and the code or the moment it was cast.

While a session is open, a ballot's physical place in the database (SQLite's pages and WAL,
PostgreSQL's ctid and the xmin it shares with the code it used up) follows the order of voting.
At close the ballots are rewritten in random order in the closing transaction, and the old
copies are then scrubbed from the files. See docs/anonymity.md.
"""

import logging
import secrets
import time

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Answer, Ballot, BallotCode, EvalSession, PaperEntry, random_id


def rewrite_ballots(session: EvalSession) -> int:
    """Re-insert the session's ballots under new random ids, in random order; return the count.

    Runs inside the caller's transaction (the close), so the ballots never exist twice.
    """
    ballots = db.session.scalars(sa.select(Ballot).where(Ballot.session_id == session.id)).all()
    copies = []
    for ballot in ballots:
        answers = [
            {"subject_id": a.subject_id, "item": a.item, "value": a.value, "comment": a.comment}
            for a in ballot.answers
        ]
        copies.append(
            {
                "group_id": ballot.group_id,
                "paper": ballot.paper,
                "comment": ballot.comment,
                "answers": answers,
            }
        )
    secrets.SystemRandom().shuffle(copies)

    ballot_ids = sa.select(Ballot.id).where(Ballot.session_id == session.id)
    db.session.execute(sa.delete(Answer).where(Answer.ballot_id.in_(ballot_ids)))
    db.session.execute(sa.delete(Ballot).where(Ballot.session_id == session.id))
    db.session.expire_all()
    for copy in copies:
        ballot_id = random_id()
        db.session.execute(
            sa.insert(Ballot).values(
                id=ballot_id,
                session_id=session.id,
                group_id=copy["group_id"],
                paper=copy["paper"],
                comment=copy["comment"],
            )
        )
        if copy["answers"]:
            db.session.execute(
                sa.insert(Answer), [{"ballot_id": ballot_id, **a} for a in copy["answers"]]
            )
    # Nothing may lead back to a code once voting is over: drop the reprintable copies, the
    # receipts of submissions, and paper entries that never found a matching second entry.
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.session_id == session.id))
    db.session.execute(
        sa.update(BallotCode)
        .where(BallotCode.session_id == session.id)
        .values(code_sealed=None, submit_token_hash=None)
    )
    return len(copies)


def scrub_storage() -> None:
    """Clear old row versions out of the database files, after the closing commit."""
    # A transaction still open in this session would pin the old WAL frames.
    db.session.commit()
    engine = db.engine
    if engine.dialect.name == "sqlite":
        # secure_delete (set on every connection) zeroed the freed pages; fold the WAL, which
        # held the ballots in commit order, back into the file and empty it, then rebuild.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            _checkpoint_truncate(connection)
            connection.exec_driver_sql("VACUUM")
            _checkpoint_truncate(connection)
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("answer", "ballot", "ballot_code", "paper_entry"):
                connection.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {table}")


def _checkpoint_truncate(connection, attempts: int = 50) -> None:
    """Empty the WAL; another worker's read in progress only delays it."""
    for _ in range(attempts):
        busy, _frames, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if not busy:
            return
        time.sleep(0.1)
    # The close has committed; say so loudly, the next close or checkpoint will finish the job.
    logging.getLogger(__name__).warning("WAL not emptied after close: a reader stayed open 5 s")
