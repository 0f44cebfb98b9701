"""SQLite's writers take turns on a file lock before BEGIN IMMEDIATE (extensions.QueuedConnection).

The queue must be held exactly while a write transaction is, wake the next writer when it is
released, stay bounded by the busy timeout, die with a killed process, and leave readers alone.
"""

import fcntl
import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from survey import extensions
from survey.extensions import QueuedConnection, configure_sqlite, write_intent


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    configure_sqlite(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield engine
    engine.dispose()


def queue_is_free(engine) -> bool:
    """Whether another process could take the writers' lock right now."""
    descriptor = os.open(engine.url.database + "-writers", os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # also drops the lock if it was taken
    return True


def test_the_queue_is_held_exactly_while_writing(engine):
    assert queue_is_free(engine)
    with engine.connect() as connection:
        assert isinstance(connection.connection.dbapi_connection, QueuedConnection)
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert not queue_is_free(engine)
        connection.commit()
        assert queue_is_free(engine)
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert not queue_is_free(engine)
        connection.rollback()
        assert queue_is_free(engine)
        token = write_intent.set(False)
        try:
            connection.exec_driver_sql("SELECT count(*) FROM t").scalar()
            assert queue_is_free(engine)  # a reader does not queue
        finally:
            connection.rollback()
            write_intent.reset(token)
    assert (engine.url.database + "-writers") and os.stat(
        engine.url.database + "-writers"
    ).st_mode & 0o777 == 0o600


def test_a_waiting_writer_starts_as_soon_as_the_holder_commits(engine):
    holding = threading.Event()
    committing_at: list[float] = []

    def hold():
        with engine.connect() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            holding.set()
            time.sleep(0.4)
            # Taken before the commit: after it, a busy machine may run the waiter first.
            committing_at.append(time.monotonic())
            connection.commit()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    with engine.connect() as connection:
        # This (main) thread blocks in the kernel on the queue, not in SQLite's sleeps.
        connection.exec_driver_sql("INSERT INTO t VALUES (2)")
        began_at = time.monotonic()
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
        connection.commit()
    holder.join()
    assert began_at >= committing_at[0]


def test_the_wait_is_bounded_like_the_busy_timeout(engine, monkeypatch):
    monkeypatch.setattr(extensions, "BUSY_TIMEOUT_SECONDS", 0.3)
    holding, done = threading.Event(), threading.Event()

    def hold():
        with engine.connect() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
            holding.set()
            done.wait(10)
            connection.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="locked"), engine.connect() as c:
            c.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert 0.25 < time.monotonic() - started < 5
    finally:
        done.set()
        holder.join()
    assert queue_is_free(engine)
    with engine.begin() as connection:  # nothing was left behind
        connection.exec_driver_sql("INSERT INTO t VALUES (3)")


def test_a_killed_holder_frees_the_queue(engine):
    path = engine.url.database + "-writers"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({path!r}, os.O_RDWR)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not queue_is_free(engine)
        threading.Timer(0.3, holder.kill).start()
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert queue_is_free(engine)
