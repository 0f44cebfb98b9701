"""The Flask extensions, created unbound so that every module can import them."""

import contextlib
import os
from contextvars import ContextVar

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


def configure_sqlite(engine: sa.Engine) -> None:
    """Set SQLite up for several worker processes: WAL, FULL sync, busy wait, BEGIN IMMEDIATE."""
    owner_only(engine.url.database)

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted ballots are overwritten with zeros, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # VACUUM and checkpoints run outside any transaction
        # A deferred BEGIN that later writes can fail with SQLITE_BUSY_SNAPSHOT under WAL.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


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
