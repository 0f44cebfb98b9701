"""Cut every link between a ballot and the code or the moment it was cast.

While a session is open, a sealed ballot's physical place in the database (SQLite's pages and
WAL, PostgreSQL's ctid and the xmin it shares with the code it used up) follows the order of
voting, but it is ciphertext (survey/services/sealing.py). At close the opened ballots are
inserted in random order in one transaction, the sealed rows deleted in bulk, the code rows
rewritten in random order, and the old copies then scrubbed from the files. See
docs/anonymity.md.
"""

import logging
import secrets
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    Answer,
    Ballot,
    BallotCode,
    EvalSession,
    Inquiry,
    InquiryQuota,
    PaperEntry,
    SealedBallot,
    random_id,
)
from survey.services import ServiceError

# Tables whose rows could betray the order of voting or asking until rewritten at close.
REWRITTEN_AT_CLOSE = (
    "answer",
    "ballot",
    "sealed_ballot",
    "ballot_code",
    "paper_entry",
    "inquiry",
    "inquiry_quota",
)


class ScrubPending(ServiceError):
    """The database files could not be cleaned yet; the close stays 正在结束 until they are."""

    status = 503


@dataclass
class PlainBallot:
    """A ballot in clear, on its way into the shuffled batch."""

    group_id: int
    paper: bool
    comment: str | None
    # (subject_id, item, value, comment) rows, as the answer table stores them.
    answers: list[tuple] = field(default_factory=list)


def rewrite_ballots(
    session: EvalSession, opened: list[PlainBallot] | None = None
) -> list[PlainBallot]:
    """Store the opened ballots, with any already in clear, in one shuffled batch; return them.

    Runs inside the caller's transaction (the close). The batch is inserted under fresh random
    ids in random order and only then are the sealed rows (and any earlier plaintext copies)
    deleted in bulk: a delete per insert would pair them in the log.
    """
    in_session = Ballot.session_id == session.id
    ballots = [] if opened is None else list(opened)
    existing = db.session.execute(
        sa.select(Ballot.id, Ballot.group_id, Ballot.paper, Ballot.comment).where(in_session)
    ).all()
    plain: dict[str, PlainBallot] = {
        row.id: PlainBallot(row.group_id, row.paper, row.comment) for row in existing
    }
    for row in db.session.execute(
        sa.select(Answer.ballot_id, Answer.subject_id, Answer.item, Answer.value, Answer.comment)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .where(in_session)
    ):
        plain[row.ballot_id].answers.append((row.subject_id, row.item, row.value, row.comment))
    ballots.extend(plain.values())
    secrets.SystemRandom().shuffle(ballots)

    new_ballots, new_answers = [], []
    for ballot in ballots:  # in the shuffled order, under fresh random ids
        new_id = random_id()
        new_ballots.append((new_id, session.id, ballot.group_id, ballot.paper, ballot.comment))
        new_answers.extend((new_id, *answer) for answer in ballot.answers)
    if existing:
        old_ids = [row.id for row in existing]
        db.session.execute(sa.delete(Answer).where(Answer.ballot_id.in_(old_ids)))
        db.session.execute(sa.delete(Ballot).where(Ballot.id.in_(old_ids)))
    _insert_many("ballot", ("id", "session_id", "group_id", "paper", "comment"), new_ballots)
    _insert_many("answer", ("ballot_id", "subject_id", "item", "value", "comment"), new_answers)
    db.session.execute(sa.delete(SealedBallot).where(SealedBallot.session_id == session.id))
    db.session.expire_all()
    # Nothing may lead back to a code once voting is over: drop paper entries that never
    # found a matching second entry, and rewrite the codes (see rewrite_codes).
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.session_id == session.id))
    rewrite_codes(session)
    return ballots


def rewrite_codes(session: EvalSession) -> None:
    """Re-insert the session's code rows in random order, without reprint copies or receipts.

    Marking a code used wrote a new row version while voting, so the rows' physical order
    (PostgreSQL's ctid, kept by VACUUM FULL and pg_dump) followed the order of use. Each row
    keeps its id (the order of issue), group, lookup hash and status: the counts results and
    the code page need, and the answer "already used" a card holder may ask for.
    """
    rows = db.session.execute(
        sa.select(
            BallotCode.id, BallotCode.group_id, BallotCode.code_hash, BallotCode.status
        ).where(BallotCode.session_id == session.id)
    ).all()
    if not rows:
        return
    shuffled = [
        (row.id, session.id, row.group_id, row.code_hash, str(row.status.value)) for row in rows
    ]
    secrets.SystemRandom().shuffle(shuffled)
    db.session.execute(sa.delete(BallotCode).where(BallotCode.session_id == session.id))
    _insert_many("ballot_code", ("id", "session_id", "group_id", "code_hash", "status"), shuffled)


def _insert_many(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """One executemany straight through the driver, in the order given.

    SQLAlchemy's per-row parameter handling cost more than SQLite itself at 300,000 answers;
    the rows here are plain values the close built, so nothing is lost by skipping it.
    """
    if not rows:
        return
    marker = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (fixed names, no input)
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    db.session.connection().exec_driver_sql(statement, rows)


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
            for table in REWRITTEN_AT_CLOSE:
                connection.exec_driver_sql(f"VACUUM (FULL, ANALYZE) {table}")


def empty_wal() -> None:
    """Fold SQLite's WAL back into the file once more (after the small "closed" write).

    What the WAL holds by then is the session row's new state, nothing about ballots, so a
    busy reader here is not worth holding the close open for.
    """
    db.session.commit()
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _checkpoint_truncate(connection, attempts: int = 50) -> None:
    """Empty the WAL; another worker's read in progress only delays it."""
    for _ in range(attempts):
        busy, _frames, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if not busy:
            return
        time.sleep(0.1)
    # The close stays 正在结束: `survey close` or the session page retries the scrub.
    logging.getLogger(__name__).warning("WAL not emptied at close: a reader stayed open 5 s")
    raise ScrubPending("数据库仍有读取未结束，暂时无法清理日志文件。请稍后点击“继续结束”重试。")


def rewrite_inquiries(session: EvalSession) -> None:
    """Re-insert the session's questions in random order, inside the caller's transaction."""
    rows = [
        {c.name: getattr(inquiry, c.name) for c in Inquiry.__table__.columns}
        for inquiry in db.session.scalars(
            sa.select(Inquiry).where(Inquiry.session_id == session.id)
        )
    ]
    secrets.SystemRandom().shuffle(rows)
    db.session.execute(sa.delete(Inquiry).where(Inquiry.session_id == session.id))
    db.session.expire_all()
    if rows:
        db.session.execute(sa.insert(Inquiry), rows)


def forget_askers(session: EvalSession) -> None:
    """At close: drop the per-code counters and put the questions in random order."""
    db.session.execute(sa.delete(InquiryQuota).where(InquiryQuota.session_id == session.id))
    rewrite_inquiries(session)
