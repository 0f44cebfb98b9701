"""Cut every link between a ballot and the code or the moment it was cast.

While a session is open, a sealed ballot's physical place in the database (SQLite's pages and
WAL, PostgreSQL's ctid and the xmin it shares with the code it used up) follows the order of
voting, but it is ciphertext (survey/services/sealing.py). At close the opened ballots are
inserted in random order in one transaction, the sealed rows deleted in bulk, the code rows
cleared of receipts, and the files then scrubbed of old copies, the code rows put back in the
order of issue. See docs/anonymity.md.
"""

import logging
import secrets
import time
from collections.abc import Iterable

import sqlalchemy as sa

from survey.domain.layout import BallotLayout
from survey.extensions import db, session_driver_connection
from survey.models import (
    Ballot,
    BallotCode,
    BallotComment,
    EvalSession,
    Inquiry,
    InquiryQuota,
    PaperEntry,
    SealedBallot,
    random_id,
)
from survey.services import ServiceError

# Tables whose rows could betray the order of voting or asking until rewritten at close;
# ballot_code is not among them, it is put back in the order of issue (clear_codes).
REWRITTEN_AT_CLOSE = (
    "ballot",
    "ballot_comment",
    "sealed_ballot",
    "paper_entry",
    "inquiry",
    "inquiry_quota",
)


class ScrubPending(ServiceError):
    """The database files could not be cleaned yet; the close stays 正在结束 until they are."""

    status = 503


class OpenedBatch:
    """The ballots of one close in clear, compact enough for 100,000 of them.

    A ballot is a tuple (group id, paper, overall comment or None, values, comments): `values`
    holds one byte per line (subject, item) of `lines`, 0 for a blank line (an abstention) or
    k for `options[k - 1]`; `comments` is a sorted tuple of (subject id, text). Thirty
    ratings take 30 bytes instead of thirty tuples, so the close holds every ballot (it must,
    to shuffle them all) in a few tens of megabytes; and the values are stored as they are,
    as the ballot's ratings under the batch's layout (survey/domain/layout.py).
    """

    def __init__(self, lines: list[tuple[int, str]], options: list[str]):
        self.lines = list(lines)
        self.options = list(options)
        self.line_slot = {line: slot for slot, line in enumerate(self.lines)}
        self.option_code = {option: code for code, option in enumerate(self.options, start=1)}
        self.ballots: list[tuple] = []
        self.ids: list[str] = []

    @property
    def width(self) -> int:
        return len(self.lines)

    def layout(self) -> BallotLayout:
        """The layout the batch's values are coded by: stored with the session at close."""
        return BallotLayout.of(self.lines, self.options)

    def add_stored(
        self,
        group_id: int,
        paper: bool,
        comment: str | None,
        ratings: dict[tuple[int, str], str],
        comments: dict[int, str],
    ) -> None:
        """Add a ballot already stored in clear (decoded from its layout); lines or options
        the questionnaire lacks are kept too."""
        for line, value in ratings.items():
            if line not in self.line_slot:
                self.line_slot[line] = len(self.lines)
                self.lines.append(line)
            if value not in self.option_code:
                if len(self.options) == 255:
                    raise ValueError("more than 255 distinct answers to one questionnaire")
                self.options.append(value)
                self.option_code[value] = len(self.options)
        values = bytearray(self.width)
        for line, value in ratings.items():
            values[self.line_slot[line]] = self.option_code[value]
        self.ballots.append(
            (group_id, paper, comment, bytes(values), tuple(sorted(comments.items())))
        )

    def shuffle(self) -> None:
        """Put the ballots in a random order under fresh random ids.

        Each ballot draws a random id and the batch is sorted by it: a uniformly random order
        (the ids come from the OS's CSPRNG), and the order the database keeps the rows in
        anyway (ballot and ballot_comment are keyed by that id), so the inserts append to the
        B-tree.
        """
        width = self.width
        # Lines added by add_stored made earlier ballots short: pad them with blanks.
        ballots = [
            b if len(b[3]) == width else (*b[:3], b[3].ljust(width, b"\0"), b[4])
            for b in self.ballots
        ]
        keyed = sorted(zip((random_id() for _ in ballots), ballots, strict=True))
        self.ids = [new_id for new_id, _ in keyed]
        self.ballots = [ballot for _, ballot in keyed]

    def __len__(self) -> int:
        return len(self.ballots)


def take_stored_ballots(session: EvalSession, batch: OpenedBatch) -> None:
    """Move ballots stored in clear before the seals (by an older version, while open) into
    the batch, inside the caller's transaction: they are written again with it."""
    in_session = Ballot.session_id == session.id
    existing = {
        row.id: (row.group_id, row.paper, row.comment, row.ratings, {})
        for row in db.session.execute(
            sa.select(
                Ballot.id, Ballot.group_id, Ballot.paper, Ballot.comment, Ballot.ratings
            ).where(in_session)
        )
    }
    if not existing:
        return
    # Coded by the layout stored with them.
    layout = BallotLayout.from_document(session.ballot_layout)
    for ballot_id, subject_id, text in db.session.execute(
        sa.select(BallotComment.ballot_id, BallotComment.subject_id, BallotComment.text)
        .join(Ballot, Ballot.id == BallotComment.ballot_id)
        .where(in_session)
    ):
        existing[ballot_id][4][subject_id] = text
    for group_id, paper, comment, ratings, comments in existing.values():
        batch.add_stored(group_id, paper, comment, layout.decode(ratings), comments)
    old = sa.select(Ballot.id).where(in_session).scalar_subquery()
    db.session.execute(sa.delete(BallotComment).where(BallotComment.ballot_id.in_(old)))
    db.session.execute(sa.delete(Ballot).where(in_session))


def rewrite_ballots(session: EvalSession, batch: OpenedBatch) -> None:
    """Store the shuffled batch (take_stored_ballots added any ballots already in clear).

    Runs inside the caller's transaction (the close). The batch is inserted under its random
    ids in its random order and only then are the sealed rows deleted in bulk: a delete per
    insert would pair them in the log.
    """
    _insert_batch(session.id, batch)
    db.session.execute(sa.delete(SealedBallot).where(SealedBallot.session_id == session.id))
    db.session.expire_all()
    # Stored with the ballots, in the same transaction: their ratings are read by it.
    session.ballot_layout = batch.layout().document()
    # Nothing may lead back to a code once voting is over: drop paper entries that never
    # found a matching second entry, and clear the codes (see clear_codes).
    db.session.execute(sa.delete(PaperEntry).where(PaperEntry.session_id == session.id))
    clear_codes(session)


def clear_codes(session: EvalSession) -> None:
    """Clear the session's reprint copies and receipts from its code rows, in place.

    Each row keeps its id (the order of issue), group, lookup hash and status: the counts
    results and the code page need, and the answer "already used" a card holder may ask for.

    Marking a code used wrote a new row version while voting, so the rows' physical order
    followed the order of use; the scrub puts them back in the order of issue, which says
    nothing about voting (cards are shuffled and drawn): SQLite keeps ballot_code in its
    rowid, which is the id, and VACUUM rebuilds the file from it; PostgreSQL's scrub CLUSTERs
    the table on its primary key. The order this UPDATE visits the rows in links nothing: the
    ballots of the same transaction were inserted before it, in random order.
    """
    db.session.execute(
        sa.update(BallotCode)
        .where(BallotCode.session_id == session.id)
        .values(code_sealed=None, submit_token_hash=None)
        .execution_options(synchronize_session=False)
    )


# ---- bulk inserts -------------------------------------------------------------------------

BALLOT_COLUMNS = ("id", "session_id", "group_id", "paper", "comment", "ratings")
COMMENT_COLUMNS = ("ballot_id", "subject_id", "text")


def _insert_batch(session_id: int, batch: OpenedBatch) -> None:
    """Insert the shuffled batch in its order: ballots (ratings and all), then the comments.

    One row per ballot: its ratings are the batch's compact values as they are. SQLite takes
    the rows through one executemany over a generator; PostgreSQL through COPY, whose rows
    psycopg would otherwise send one statement at a time.
    """
    if not batch.ballots:
        return
    pairs = list(zip(batch.ids, batch.ballots, strict=True))
    comments = (
        (new_id, subject_id, text)
        for new_id, (_g, _p, _c, _v, said) in pairs
        for subject_id, text in said
    )
    ballots = (
        (new_id, session_id, group_id, paper, comment, values)
        for new_id, (group_id, paper, comment, values, _comments) in pairs
    )
    write = _copy_rows if db.engine.dialect.name == "postgresql" else _insert_rows
    write("ballot", BALLOT_COLUMNS, ballots)
    write("ballot_comment", COMMENT_COLUMNS, comments)


def _copy_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """PostgreSQL: plain rows through COPY; psycopg formats each row in C (write_row)."""
    cursor = session_driver_connection().cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.close()


def _insert_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """SQLite: insert plain rows in the order given, one executemany over the (possibly lazy)
    rows straight through the driver. SQLAlchemy's per-row parameter handling cost more than
    SQLite itself at 300,000 rows; these are plain values the close built, so nothing is lost
    by skipping it."""
    names, marks = ", ".join(columns), ", ".join("?" * len(columns))
    cursor = session_driver_connection().cursor()
    # Fixed table and column names, no input.
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
    cursor.close()


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
            connection.exec_driver_sql("CLUSTER ballot_code USING pk_ballot_code")
            connection.exec_driver_sql("ANALYZE ballot_code")


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
