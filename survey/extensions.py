"""The Flask extensions, created unbound so that every module can import them."""

import contextlib
import fcntl
import os
import re
import signal
import sqlite3
import threading
from contextvars import ContextVar
from dataclasses import dataclass

import sqlalchemy as sa
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

# Explicit names keep SQLite batch migrations and PostgreSQL in step.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()

# Whether the next SQLite transaction should take the write lock up front. True by default
# (CLI, services); read-only requests switch it off so polling screens don't queue behind
# ballot submits.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


BUSY_TIMEOUT_SECONDS = 10


_NAMED_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")
_driver_statements: dict[tuple[str, str], str] = {}


def session_driver_connection():
    """The driver connection under the ORM session's transaction, for bulk work inside it
    (the close, the streamed exports): rows straight from the driver, none of SQLAlchemy's
    per-row processing."""
    return db.session.connection().connection.driver_connection


@contextlib.contextmanager
def pooled_driver_connection():
    """A driver connection from the pool for one step of the voter's hot path; no ORM session.

    A read or a write through the session (begin, pool checkout, events, commit, remove) costs
    about 150 µs of Python on top of the statement; a checkout of the pooled connection about
    10. The connection is in autocommit: on SQLite it always is (SQLAlchemy decides when
    transactions begin, see configure_sqlite); on PostgreSQL it is switched for the step and
    back before it returns to the pool. A write transaction on SQLite begins with
    `begin_write` (the writers' queue, then BEGIN IMMEDIATE). Driver errors come out as
    SQLAlchemy's, and a lost connection is not pooled again.
    """
    engine = db.engine
    dialect = engine.dialect
    fairy = engine.raw_connection()
    connection = fairy.dbapi_connection
    lost = False
    try:
        if dialect.name == "postgresql":
            connection.autocommit = True
        yield DriverConnection(connection, dialect.name)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, connection, None)
        if lost:
            fairy.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            "(a step of the voter's hot path)",
            None,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
        ) from error
    finally:
        if dialect.name == "postgresql" and not lost:
            # The pool hands the connection to the ORM next, which expects transactions.
            with contextlib.suppress(dialect.loaded_dbapi.Error):
                connection.autocommit = False
        fairy.close()  # back to the pool, which rolls back whatever is left open


def begin_write(dbapi_connection) -> None:
    """Begin a SQLite write transaction on a driver connection: the queue, BEGIN IMMEDIATE."""
    wait_for_writers(dbapi_connection)
    dbapi_connection.execute("BEGIN IMMEDIATE")


def wait_for_writers(dbapi_connection) -> None:
    """Take this connection's turn in the writers' queue (QueuedConnection), if it has one."""
    if isinstance(dbapi_connection, QueuedConnection):
        try:
            dbapi_connection.wait_turn()
        except WritersQueueTimeout as error:
            # What SQLite's own busy timeout raises, as callers catch it.
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, error) from error


def driver_sql(statement: str, dialect: str) -> str:
    """A statement naming its parameters `:name` in the driver's own style (cached)."""
    key = (statement, dialect)
    sql = _driver_statements.get(key)
    if sql is None:
        sql = statement
        if dialect != "sqlite":
            sql = _NAMED_PARAMETER.sub(r"%(\1)s", statement.replace("%", "%%"))
        _driver_statements[key] = sql
    return sql


@dataclass(frozen=True, slots=True)
class DriverConnection:
    """A pooled driver connection and its dialect's name (see pooled_driver_connection)."""

    connection: object
    dialect: str

    def execute(self, statement: str, params: dict):
        """Run one statement (parameters named `:name`); the cursor."""
        cursor = self.connection.cursor()
        cursor.execute(driver_sql(statement, self.dialect), params)
        return cursor


def configure_sqlite(engine: sa.Engine) -> None:
    """Set SQLite up for several worker processes: WAL, FULL sync, busy wait, BEGIN IMMEDIATE,
    and a queue of writers in front of the write lock (QueuedConnection)."""
    owner_only(engine.url.database)
    queue_path = writers_queue_path(engine.url.database)
    if queue_path:
        owner_only(queue_path)

        @sa.event.listens_for(engine, "do_connect")
        def queued(_dialect, _record, _args, params):
            params["factory"] = QueuedConnection

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted ballots are overwritten with zeros, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # VACUUM and checkpoints run outside any transaction
        # A deferred BEGIN that later writes can fail with SQLITE_BUSY_SNAPSHOT under WAL.
        if not write_intent.get():
            connection.exec_driver_sql("BEGIN")
            return
        wait_for_writers(connection.connection.dbapi_connection)
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def writers_queue_path(database: str | None) -> str | None:
    """The file whose lock orders the writers of a database file (none for memory databases)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + "-writers"


class WritersQueueTimeout(sqlite3.OperationalError):
    """Waited as long as SQLite's busy timeout would have: the database is locked."""


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take turns on a file lock first.

    SQLite's own busy handler does not wake a waiting writer when the lock is released: it
    sleeps 1, 2, 5, 10 … up to 100 ms between tries, so under a burst of submits a writer can
    sleep through many free moments and the slowest submits take a second or more while the
    disk is idle. Here a writer first waits, blocked in the kernel, on an exclusive flock of
    `<database>-writers` (taken just before BEGIN IMMEDIATE, dropped right after COMMIT or
    ROLLBACK): the kernel wakes the next writer the moment the previous one is done, and only
    then does it ask SQLite, whose lock is free by then. The flock is an ordering aid, not the
    guard: SQLite's lock still decides, so a writer that skipped the queue (another program,
    a thread that is not the main one) is merely slower, never unsafe. The kernel drops the
    flock of a process that dies, so a killed worker cannot leave the queue stuck.

    The wait is bounded like SQLite's busy timeout, with a timer signal, which Python lets only
    the main thread handle; gunicorn's sync workers serve requests there. In other threads a
    writer that finds the queue busy skips it and falls back to SQLite's busy wait.
    """

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._queue_fd = -1
        self._in_turn = False
        path = writers_queue_path(os.fspath(database))
        if path:
            with contextlib.suppress(OSError):  # no queue: SQLite's busy wait alone still works
                self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def wait_turn(self) -> None:
        """Take the writers' lock, waiting at most the busy timeout (see the class)."""
        if self._queue_fd < 0 or self._in_turn:
            return
        try:
            fcntl.flock(self._queue_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not can_wait_with_timer():
                return
            try:
                self._wait_with_timer()
            except WritersQueueTimeout:
                # The timer may have fired just as the lock was granted: never keep it then.
                fcntl.flock(self._queue_fd, fcntl.LOCK_UN)
                raise
        self._in_turn = True

    def _wait_with_timer(self) -> None:
        def expired(_signum, _frame):
            raise WritersQueueTimeout("database is locked (writers' queue)")

        previous = signal.signal(signal.SIGALRM, expired)
        try:
            signal.setitimer(signal.ITIMER_REAL, BUSY_TIMEOUT_SECONDS)
            try:
                fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)

    def leave_turn(self) -> None:
        if self._in_turn:
            self._in_turn = False
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._in_turn = False
            if self._queue_fd >= 0:
                os.close(self._queue_fd)  # drops the flock with the descriptor
                self._queue_fd = -1

    def __del__(self):
        # A connection dropped without close() (a discarded pool) must not keep the lock.
        if getattr(self, "_queue_fd", -1) >= 0:
            with contextlib.suppress(OSError):
                os.close(self._queue_fd)


def can_wait_with_timer() -> bool:
    """Only the main thread handles signals; a timer someone else set is left alone."""
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
    )


def owner_only(database: str | None) -> None:
    """Create the SQLite file readable by its owner only, before SQLite first opens it.

    SQLite gives the -wal, -shm and -journal files it creates the permissions of the database
    file, so making the database 0600 makes them 0600 too. An existing file is tightened.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        descriptor = os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):  # not ours, or gone: leave it
                os.chmod(database + suffix, 0o600)
    except OSError:
        return  # a folder that does not exist yet: SQLite will say so
    else:
        os.close(descriptor)  # an empty file is a valid, empty SQLite database
