"""Closing a session: an operation with its own state (正在结束) that always finishes.

begin_close() stops accepting ballots at once (OPEN → CLOSING) and returns; the work is done
by finish_close() in steps, each of which is idempotent and records the next step in the
session row when it commits:

1. ``open``: in one transaction, open every sealed ballot with the session's private key
   (survey/boxes.py), check it against the frozen questionnaire, insert the ballots in
   random order, delete the sealed rows in bulk, clear the code rows of their receipts
   (anonymity.clear_codes), forget the 质询 askers and set the seal
   (survey/services/anonymity.py, results.py).
2. ``key``: overwrite and delete the private key file (survey/services/sealing.py).
3. ``scrub``: clean old row versions out of the database files (SQLite: checkpoint TRUNCATE
   and VACUUM; PostgreSQL: VACUUM FULL of the touched tables, CLUSTER of ballot_code), then
   mark the session CLOSED.

A crash or timeout anywhere leaves the session CLOSING with its next step recorded; running
finish_close() again (``survey close``, or the 继续结束 button on the session page) resumes
there. A session is never shown as closed while its scrub is pending.
"""

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from survey.boxes import Opener
from survey.domain import plaintext
from survey.extensions import db, driver_sql, session_driver_connection
from survey.models import (
    Ballot,
    EvalSession,
    SessionState,
    User,
    utcnow,
)
from survey.services import ServiceError
from survey.services.anonymity import (
    OpenedBatch,
    empty_wal,
    forget_askers,
    rewrite_ballots,
    scrub_storage,
    take_stored_ballots,
)
from survey.services.audit import record
from survey.services.codes import lock_session
from survey.services.results import BatchSeal, seal_session, store_tally
from survey.services.sealing import destroy_session_key, private_key

log = logging.getLogger(__name__)

STEP_OPEN = "open"
STEP_KEY = "key"
STEP_SCRUB = "scrub"
STEPS = (STEP_OPEN, STEP_KEY, STEP_SCRUB)
BOX_CHUNK = 2000  # sealed boxes read at a time
STEP_LABELS = {
    STEP_OPEN: "开启密封的测评表并打乱顺序",
    STEP_KEY: "销毁本测评的开票密钥",
    STEP_SCRUB: "清理数据库文件中的旧记录",
}


@dataclass(frozen=True)
class CloseStatus:
    """Where a close stands, for the session page and the CLI."""

    state: SessionState
    step: str | None

    @property
    def number(self) -> int:
        return STEPS.index(self.step) + 1 if self.step in STEPS else 0

    @property
    def total(self) -> int:
        return len(STEPS)

    @property
    def label(self) -> str:
        return STEP_LABELS.get(self.step or "", "")


def close_status(session_id: int) -> CloseStatus:
    state, step = db.session.execute(
        sa.select(EvalSession.state, EvalSession.close_step).where(EvalSession.id == session_id)
    ).one()
    return CloseStatus(SessionState(state), step)


def begin_close(session: EvalSession, actor: User | None) -> bool:
    """Stop accepting ballots now; return False when a close was already under way."""
    # Wait for any ballot being cast to commit (PostgreSQL row lock; SQLite's write lock).
    lock_session(session)
    if session.state == SessionState.CLOSING:
        db.session.rollback()
        return False
    changed = db.session.execute(
        sa.update(EvalSession)
        .where(EvalSession.id == session.id, EvalSession.state == SessionState.OPEN)
        .values(state=SessionState.CLOSING, close_step=STEP_OPEN, closed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        db.session.refresh(session)
        raise ServiceError(f"只有进行中的测评可以结束，当前状态：{session.state.label}。")
    record(actor, "begin_close", session.id, "停止接收测评表")
    db.session.commit()
    return True


def finish_close(session_id: int, actor_id: int | None = None) -> int:
    """Do whatever steps of the close remain; return the number of ballots received.

    Safe to run again after any failure, and from several places at once: each step re-reads
    the recorded step under the session's lock and does nothing if another run did it.
    """
    with _local_lock(session_id):
        for step in STEPS:
            if not _at(session_id, step):
                continue
            try:
                {STEP_OPEN: _open_seals, STEP_KEY: _destroy_key, STEP_SCRUB: _scrub}[step](
                    session_id, actor_id
                )
            except Exception:
                db.session.rollback()  # the step's transaction is void; the next run redoes it
                raise
        status = close_status(session_id)
        if status.state != SessionState.CLOSED:
            raise ServiceError(f"测评当前状态为{status.state.label}，无法完成结束。")
        count = db.session.scalar(
            sa.select(sa.func.count()).select_from(Ballot).where(Ballot.session_id == session_id)
        )
        db.session.commit()
        return int(count)


def close_session(session: EvalSession, actor: User | None) -> int:
    """Close now or resume a close under way, and return once it has finished (CLI, tests)."""
    session_id = session.id
    if session.state != SessionState.CLOSING:
        begin_close(session, actor)
    count = finish_close(session_id, actor.id if actor is not None else None)
    db.session.refresh(session)
    return count


def _at(session_id: int, step: str) -> bool:
    status = close_status(session_id)
    db.session.commit()
    return status.state == SessionState.CLOSING and status.step == step


def _open_seals(session_id: int, actor_id: int | None) -> None:
    session = db.session.get(EvalSession, session_id)
    lock_session(session)
    if session.state != SessionState.CLOSING or session.close_step != STEP_OPEN:
        db.session.rollback()
        return
    if db.engine.dialect.name == "sqlite":
        # One transaction writes every ballot: with SQLite's default 2 MB page cache it would
        # spill to the WAL again and again (64 MB here; the connection keeps it, harmlessly).
        db.session.connection().exec_driver_sql("PRAGMA cache_size = -65536")
    batch, refused = _opened(session_id, _Checker(session))
    take_stored_ballots(session, batch)
    batch.shuffle()
    # Sealed from the batch in memory: the same ballots, without reading them back; their
    # texts are built in a thread while the batch is written.
    sealing = BatchSeal(session, batch)
    rewrite_ballots(session, batch)
    count = len(batch)
    forget_askers(session)
    store_tally(session, batch)
    seal = seal_session(session, sealing)
    session.close_step = STEP_KEY
    detail = f"收回测评表{count}张，封存码 {seal}"
    if refused:
        detail += f"；另有{refused}张无法开启或不符合测评表，未计入"
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    record(actor, "close_session", session_id, detail)
    db.session.commit()


def _opened(session_id: int, check: "_Checker") -> tuple[OpenedBatch, int]:
    """Every sealed ballot of the session opened, checked and added to a new batch; and how
    many were refused."""
    batch = OpenedBatch(check.layout.lines, check.layout.options)
    refused = 0
    opener = None  # with no ballot to open, the key file need not exist
    with contextlib.closing(_sealed_boxes(session_id)) as boxes:
        for box in boxes:
            opener = opener or Opener(private_key(session_id))
            if not check(opener.open_or_none(box), batch):
                refused += 1
    return batch, refused


def _sealed_boxes(session_id: int) -> Iterator[bytes]:
    """The session's boxes, BOX_CHUNK at a time: only the compact opened ballots accumulate,
    never every box at once. Straight from the driver: on PostgreSQL a server-side cursor in
    binary (bytea as it is: hex would double the 30 MB of 100,000 boxes)."""
    connection, dialect = session_driver_connection(), db.engine.dialect.name
    if dialect == "postgresql":
        cursor = connection.cursor(name="sealed_boxes", binary=True)
    else:
        cursor = connection.cursor()
    query = driver_sql("SELECT box FROM sealed_ballot WHERE session_id = :session_id", dialect)
    try:
        cursor.execute(query, {"session_id": session_id})
        while rows := cursor.fetchmany(BOX_CHUNK):
            for (box,) in rows:
                yield box
    finally:  # a cursor left open mid-way would keep SQLite's checkpoint from finishing
        cursor.close()


def _destroy_key(session_id: int, _actor_id: int | None) -> None:
    # The ballots are in clear in the committed close: the key has nothing left to open.
    destroy_session_key(session_id)
    db.session.execute(
        sa.update(EvalSession)
        .where(EvalSession.id == session_id, EvalSession.close_step == STEP_KEY)
        .values(close_step=STEP_SCRUB)
    )
    db.session.commit()


def _scrub(session_id: int, _actor_id: int | None) -> None:
    scrub_storage()
    db.session.execute(
        sa.update(EvalSession)
        .where(EvalSession.id == session_id, EvalSession.close_step == STEP_SCRUB)
        .values(state=SessionState.CLOSED, close_step=None)
    )
    db.session.commit()
    empty_wal()


class _Checker:
    """Checks an opened ballot against the frozen questionnaire, as the submit did, and adds
    it to the batch in compact form."""

    def __init__(self, session: EvalSession):
        self.groups = {group.id for group in session.groups}
        self.subjects = {subject.id for subject in session.subjects}
        self.layout = session.open_layout()
        self.limit = session.frozen_questionnaire().comment_max_length

    def __call__(self, content: bytes | None, batch: OpenedBatch) -> bool:
        """Add the opened ballot to the batch; False if its box did not open or it does not fit."""
        if content is None:
            return False
        try:
            group_id, paper, values, comments, overall = plaintext.unpack(content, self.layout)
        except plaintext.UNREADABLE:
            return False
        limit = self.limit
        if (
            group_id not in self.groups
            or len(overall) > limit
            or values == self.layout.blank
            or (comments and not all(self._fits(subject, text) for subject, text in comments))
        ):
            return False
        batch.ballots.append((group_id, paper, overall or None, values, comments))
        return True

    def _fits(self, subject_id: int, text: str) -> bool:
        return subject_id in self.subjects and 0 < len(text) <= self.limit


# ---- in the background --------------------------------------------------------------------

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


class _local_lock:
    """One close run per session per process at a time (the database guards across them)."""

    def __init__(self, session_id: int):
        with _locks_guard:
            self.lock = _locks.setdefault(session_id, threading.Lock())

    def __enter__(self):
        self.lock.acquire()

    def __exit__(self, *exc):
        self.lock.release()


def close_from_web(app, session_id: int, actor_id: int | None, wait: float) -> CloseStatus:
    """Do the rest of the close in a thread; give it `wait` seconds, then report where it is.

    A small session is closed before the page comes back; a big one, or one waiting on a lock
    held by a long export, keeps going after the request has returned (the page refreshes
    itself), and a worker killed meanwhile leaves the session 正在结束 for the 继续结束 button.
    """
    # No transaction of ours may stay open while the thread works: on SQLite it would hold
    # the write lock the close needs.
    db.session.commit()
    finish_in_background(app, session_id, actor_id).join(wait)
    status = close_status(session_id)
    db.session.commit()
    return status


def finish_in_background(app, session_id: int, actor_id: int | None) -> threading.Thread:
    """Run finish_close in a thread of this process, so the web request can return at once."""

    def run():
        with app.app_context():
            try:
                finish_close(session_id, actor_id)
            except Exception:  # the session stays 正在结束; the page offers to resume
                log.exception("closing session %s did not finish", session_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=f"close-{session_id}", daemon=True)
    thread.start()
    return thread
