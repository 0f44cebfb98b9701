"""PostgreSQL, examined from its data directory: heap files, pg_wal, and pg_waldump.

A throwaway server is started for this test (as the postgres user when run as root, like
scripts/test-all), so that its files can be read. While the session is open no ballot's
content is in any file; after the close the WAL links no ballot to a code, and neither the
ballots nor the code rows are stored in the voting order.
"""

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey.extensions import db
from tests.anonymity.forensics import (
    MARK_RE,
    VOTERS,
    close,
    files_under,
    make_app,
    marks_in,
    spearman,
    vote_in_known_order,
)
from tests.conftest import requirement_missing

SEGMENT = 16 * 1024 * 1024
PAGE = 8192
RECORD = re.compile(
    r"rmgr: (\w+)\s+len \(rec/tot\):\s+\d+/\s*(\d+), tx:\s+(\d+), lsn: ([0-9A-F]+)/([0-9A-F]+),"
    r".*?desc: (.*)$"
)
RELFILE = re.compile(r"rel \d+/\d+/(\d+)")


@pytest.fixture
def throwaway_postgres():
    """Start a PostgreSQL server of our own; yield (url, data directory, bin directory)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        requirement_missing("PostgreSQL server binaries (initdb) are not installed")
    bin_dir = Path(found[-1]).parent
    # Not under pytest's own temporary folder: pytest resets that to 0700 whenever a run
    # starts, which would lock the postgres user out of its data mid-test.
    base = Path(tempfile.mkdtemp(prefix="survey-forensic-pg-"))
    data = base / "data"
    as_pg = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            requirement_missing("runuser is needed to run PostgreSQL as root")
        shutil.chown(base, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*args):
        done = subprocess.run([*as_pg, *map(str, args)], capture_output=True, text=True, cwd="/")
        assert done.returncode == 0, f"{args[0]}: {done.stderr}"

    run(
        bin_dir / "initdb",
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    )
    # wal_keep_size: keep every segment, as WAL archiving or a replica would.
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c wal_keep_size=1GB"
    run(bin_dir / "pg_ctl", "-D", data, "-l", base / "log", "-w", "-o", options, "start")
    try:
        run(bin_dir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "forensic")
        yield f"postgresql://postgres@127.0.0.1:{port}/forensic", data, bin_dir
    finally:
        subprocess.run(
            [*as_pg, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            cwd="/",
        )
        shutil.rmtree(base, ignore_errors=True)


def sql(app, statement: str, **params):
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            result = connection.execute(sa.text(statement), params)
            rows = result.all() if result.returns_rows else None
        db.session.remove()
    return rows


def wal_records(data: Path, bin_dir: Path) -> list[tuple[int, set[str], str, bytes]]:
    """Every WAL record still on disk as (transaction id, relfilenodes, description, bytes)."""
    wal_dir = data / "pg_wal"
    segments = sorted(p.name for p in wal_dir.iterdir() if re.fullmatch(r"[0-9A-F]{24}", p.name))
    dumped = subprocess.run(
        [str(bin_dir / "pg_waldump"), "-p", str(wal_dir), segments[0]],
        capture_output=True,
        text=True,
    ).stdout  # it ends with an error at the end of the WAL: the records before it are all here
    records = []
    for line in dumped.splitlines():
        match = RECORD.search(line)
        if not match:
            continue
        _rmgr, total, xid, high, low, desc = match.groups()
        lsn = (int(high, 16) << 32) | int(low, 16)
        raw = raw_record(wal_dir, lsn, int(total))
        records.append((int(xid), set(RELFILE.findall(desc)), desc, raw))
    assert len(records) > 1000, "pg_waldump read the WAL"
    return records


def raw_record(wal_dir: Path, lsn: int, total: int) -> bytes:
    """Read a record's bytes from the segment files, stepping over the page headers."""
    out = bytearray()
    while len(out) < total:
        segment_no, offset = divmod(lsn, SEGMENT)
        name = f"00000001{segment_no >> 8:08X}{segment_no & 0xFF:08X}"
        page_offset = offset % PAGE
        if page_offset == 0:  # a continuation: skip the page header (long at segment start)
            skip = 40 if offset == 0 else 24
            lsn += skip
            offset += skip
            page_offset = skip
        take = min(total - len(out), PAGE - page_offset)
        with open(wal_dir / name, "rb") as handle:
            handle.seek(offset)
            out += handle.read(take)
        lsn += take
    return bytes(out)


def test_postgres_files_and_wal_hold_no_link_between_codes_and_ballots(
    throwaway_postgres, tmp_path
):
    url, data, bin_dir = throwaway_postgres
    app = make_app(url, tmp_path / "keys")
    vote = vote_in_known_order(app)
    nodes = dict(
        sql(
            app,
            "SELECT relname, pg_relation_filenode(oid)::text FROM pg_class "
            "WHERE relname IN ('ballot_code', 'ballot', 'ballot_comment', 'sealed_ballot')",
        )
    )
    code_files = {nodes["ballot_code"]}

    # While open: flush everything to the data files, then read every file, WAL included.
    sql(app, "CHECKPOINT")
    for path in files_under(data):
        assert marks_in(path.read_bytes()) == [], f"a ballot is readable in {path}"

    assert close(app, vote.session_id) == VOTERS
    assert list((tmp_path / "keys").iterdir()) == []  # the session key is destroyed
    sql(app, "CHECKPOINT")
    code_files.add(sql(app, "SELECT pg_relation_filenode('ballot_code')::text")[0][0])

    # After close: group the WAL records by transaction. A transaction that wrote a ballot in
    # clear and touched code rows links them only if it narrows a ballot down to fewer than
    # all the codes, or writes them in an order that follows the voting order.
    by_tx: dict[int, list[tuple[set[str], bytes]]] = defaultdict(list)
    for xid, files, _desc, raw in wal_records(data, bin_dir):
        by_tx[xid].append((files, raw))
    issued = sql(app, "SELECT count(*) FROM ballot_code WHERE session_id = :s", s=vote.session_id)
    issued = issued[0][0]
    sealed_files = {nodes["sealed_ballot"]}
    ballot_files = {nodes["ballot"]}
    votes = [
        xid
        for xid, records in by_tx.items()
        if any(files & code_files for files, _ in records)
        and any(files & sealed_files for files, _ in records)
        and not any(marks_in(raw) for _, raw in records)
    ]
    assert len(votes) == VOTERS, "each vote's transaction (code + sealed ballot) is in the WAL"
    linked, seen = 0, set()
    for xid, records in by_tx.items():
        marks = [m for _files, raw in records for m in marks_in(raw)]
        seen.update(marks)
        code_records = [raw for files, raw in records if files & code_files]
        if not marks or not code_records or xid == 0:
            continue
        if len(set(marks)) < VOTERS or len(code_records) < issued:
            linked += len(set(marks))
            continue
        # The close: every ballot, in a shuffled order, then every code row of the session
        # cleared in place. The order of the code records follows where voting left the rows,
        # as the vote transactions themselves show; what would link is a ballot next to its
        # code, and the ballots come first, all of them, in random order.
        first = list(dict.fromkeys(marks))
        assert abs(spearman(first)) < 0.5, spearman(first)
        ballots_end = max(at for at, (files, _) in enumerate(records) if files & ballot_files)
        codes_start = min(at for at, (files, _) in enumerate(records) if files & code_files)
        assert ballots_end < codes_start
    assert seen == set(range(VOTERS)), "the clear ballots of the close are in the WAL"
    assert linked == 0, f"{linked} ballots linkable to their code through the WAL"

    # The tables: ballots and code rows in an order unrelated to the voting order.
    comments = sql(app, "SELECT comment FROM ballot ORDER BY ctid")
    stored = [int(MARK_RE.match(c.encode()).group(1)) for (c,) in comments]
    assert sorted(stored) == list(range(VOTERS)) and abs(spearman(stored)) < 0.5
    codes = sql(
        app,
        "SELECT id, code_hash, code_sealed, submit_token_hash FROM ballot_code"
        " WHERE session_id = :s ORDER BY ctid",
        s=vote.session_id,
    )
    assert [row[0] for row in codes] == sorted(row[0] for row in codes)  # the order of issue
    assert {row[2:] for row in codes} == {(None, None)}  # no reprint copy, no receipt
    used = [vote.hashes[h] for (_id, h, *_cleared) in codes if h in vote.hashes]
    assert len(used) == VOTERS and abs(spearman(used)) < 0.5, spearman(used)
    # xmin: one transaction wrote every ballot and every code row.
    assert len(sql(app, "SELECT DISTINCT xmin::text FROM ballot")) == 1
