"""Back the database up to one file and restore it, on SQLite and PostgreSQL.

SQLite: the online backup API copies a consistent snapshot while workers keep writing; restore
copies the file back into the live database the same way. PostgreSQL: `pg_dump -Fc` and
`pg_restore --clean --if-exists --single-transaction`, so a failed restore changes nothing.

A backup holds ballot codes only as keyed hashes and sealed copies: without BALLOT_CODE_KEY,
which lives in the instance folder and never in the database, it yields no usable code.
"""

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from survey.extensions import db
from survey.services import ServiceError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(ServiceError):
    """A backup or restore that could not be done; the message says why, in Chinese."""


def engine_name() -> str:
    return db.engine.dialect.name


def backup(path: str | Path) -> Path:
    """Write a consistent copy of the whole database to path (replacing the file if any)."""
    target = Path(path).resolve()
    if target.is_dir():
        raise BackupError(f"{target} 是文件夹，请给出备份文件的路径。")
    if not target.parent.is_dir():
        raise BackupError(f"文件夹 {target.parent} 不存在。")
    # Write beside the target and rename: a crash never leaves half a backup under its name.
    handle, temporary = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
    os.close(handle)
    try:
        if engine_name() == "sqlite":
            _sqlite_backup(Path(temporary))
        else:
            _pg_dump(Path(temporary))
        os.chmod(temporary, 0o600)  # ballots and accounts: readable by the owner only
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def restore(path: str | Path) -> None:
    """Replace the whole database with a backup made by `backup` on the same engine."""
    source = Path(path).resolve()
    if not source.is_file():
        raise BackupError(f"备份文件 {source} 不存在。")
    with source.open("rb") as handle:
        head = handle.read(16)
    # Let go of every pooled connection: the restore must not wait on our own locks.
    db.session.remove()
    db.engine.dispose()
    if engine_name() == "sqlite":
        if head != SQLITE_MAGIC:
            raise BackupError("这不是SQLite数据库的备份文件（本平台当前使用SQLite）。")
        _sqlite_restore(source)
    else:
        if not head.startswith(PG_DUMP_MAGIC):
            raise BackupError("这不是pg_dump -Fc格式的备份文件（本平台当前使用PostgreSQL）。")
        _pg_restore(source)
    db.engine.dispose()


# ---- SQLite -------------------------------------------------------------------------------


def _sqlite_file() -> str:
    database = make_url(db.engine.url).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份。")
    return database


def _sqlite_backup(target: Path) -> None:
    source = sqlite3.connect(_sqlite_file(), timeout=10)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
        # A standalone file: no -wal beside it to copy or to lose.
        destination.execute("PRAGMA journal_mode=DELETE")
    finally:
        destination.close()
        source.close()
    check = sqlite3.connect(target)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("备份文件校验失败，请重试。")
    finally:
        check.close()


def _sqlite_restore(source: Path) -> None:
    backup_connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    live = sqlite3.connect(_sqlite_file(), timeout=10)
    try:
        if backup_connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("备份文件已损坏，未作任何改动。")
        tables = {
            row[0]
            for row in backup_connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        }
        if "alembic_version" not in tables:
            raise BackupError("这不是本平台的数据库备份，未作任何改动。")
        # The backup API writes every page of the live database under one write lock; other
        # connections see either the old or the restored database.
        backup_connection.backup(live)
        live.execute("PRAGMA journal_mode=WAL")
    finally:
        live.close()
        backup_connection.close()


# ---- PostgreSQL ---------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """Find pg_dump or pg_restore: PG_BIN_DIR, then PATH, then Debian's versioned folders."""
    from flask import current_app

    folder = current_app.config.get("PG_BIN_DIR") or os.environ.get("PG_BIN_DIR")
    if folder and (Path(folder) / name).exists():
        return str(Path(folder) / name)
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if versions:
        return str(versions[-1])
    raise BackupError(f"找不到 {name}，请安装 PostgreSQL 客户端（postgresql-client）。")


def _libpq_target() -> tuple[str, dict]:
    """The database as a libpq URL without its password, and the password in PGPASSWORD."""
    url = make_url(db.engine.url)
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _run(command: list[str], environment: dict, what: str) -> None:
    finished = subprocess.run(  # noqa: S603 (fixed tool, arguments from our own settings)
        command, env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        detail = (finished.stderr or finished.stdout).strip().splitlines()[-3:]
        raise BackupError(f"{what}失败：" + " ".join(detail))


def _pg_dump(target: Path) -> None:
    url, environment = _libpq_target()
    command = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), url]
    _run(command, environment, "pg_dump 备份")


def _pg_restore(source: Path) -> None:
    url, environment = _libpq_target()
    command = [
        pg_tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--dbname",
        url,
        str(source),
    ]
    _run(command, environment, "pg_restore 恢复")
