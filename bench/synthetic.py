"""A closed synthetic session in a throwaway SQLite instance, for the report and tally benches.

Ballots are sealed to the session key as cast() seals them and inserted in bulk (executemany),
each with the used-up code it was cast with (the close clears the codes too), then the
session is closed through survey.services.sessions.close_session, which opens every seal,
shuffles and scrubs: the benches see what a real close does and leaves behind.
"""

import contextlib
import datetime as dt
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from survey import create_app  # noqa: E402
from survey.boxes import seal  # noqa: E402
from survey.domain import DEFAULT_RULESET_ID, get_shipped  # noqa: E402
from survey.domain.plaintext import pack  # noqa: E402
from survey.domain.questionnaire import shipped  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import (  # noqa: E402
    Ballot,
    BallotCode,
    BallotComment,
    CodeStatus,
    EvalSession,
    MeetingType,
    RaterGroup,
    Role,
    SealedBallot,
    SessionState,
    Subject,
    SubjectRole,
    User,
    random_id,
)
from survey.security import (  # noqa: E402
    code_hash,
    hash_password,
    new_ballot_code,
    new_password,
    seal_code,
)
from survey.services.sessions import close_session, open_session  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = "明华芳强静伟敏磊洋勇军杰娟涛艳超平刚霞"
GROUPS = (("县级领导干部", 2), ("部门主要负责人", 3))  # name, share of the attendance
OPTIONS = ("good", "fairly_good", "average", "poor")
CHUNK_BALLOTS = 2_000


@contextlib.contextmanager
def bench_app(database_url: str | None = None) -> Iterator[None]:
    """Yield inside the app context of a fresh, migrated instance in a temporary folder.

    SQLite in that folder, or the (empty, throwaway) database `database_url` names.
    """
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        app = create_app(
            {
                "DATABASE_URL": database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}",
                "SECRET_KEY": "bench",
                "BALLOT_CODE_KEY": "bench",
                "PUBLIC_BASE_URL": "http://bench.example.test",
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            yield
            db.session.remove()


def _profiles(count: int, rng: random.Random) -> list[tuple[float, ...]]:
    """Give each subject its own leaning, so that rates spread over the bands."""
    profiles = []
    for _ in range(count):
        good = rng.uniform(0.45, 0.9)
        fairly = rng.uniform(0.05, 1 - good)
        average = rng.uniform(0, 1 - good - fairly)
        profiles.append((good, fairly, average, 1 - good - fairly - average))
    return profiles


SEAL_CPU: list[float] = []  # CPU seconds spent sealing, per build


def build_closed_session(
    subjects: int,
    ballots: int,
    seed: int = 2025,
    close: bool = True,
    step: contextlib.AbstractContextManager | None = None,
    with_codes: bool = True,
) -> tuple[EvalSession, float]:
    """Create, fill and close a session; return it and the seconds close_session took.

    The CPU time spent sealing the ballots is appended to SEAL_CPU. With close=False the
    ballots go straight, unsealed, into the closed tables and the session is only marked
    closed (no opening, shuffle, seal or scrub): enough to time the tally and the reports.
    `step`, a context manager, is entered around close_session (bench/tally.py measures it).
    Each sealed ballot comes with the code it was cast with, unless with_codes=False: all the
    codes are issued first (sealed copy and all), then each ballot marks its own used, in an
    order unrelated to the order of issue, as voting leaves them.
    """
    rng = random.Random(seed)
    owner = User(
        username="bench",
        display_name="基准测试",
        role=Role.ORGANIZER,
        password_hash=hash_password(new_password()),
    )
    session = EvalSession(
        title="2025年度某某县党政领导班子及成员党风廉政建设责任制民主测评（基准测试）",
        unit="中共某某县委",
        meeting_date=dt.date(2026, 1, 8),
        meeting_type=MeetingType.REPORT_EVALUATE,
        owner=owner,
        rule_set_key=DEFAULT_RULESET_ID,
        rule_set_version=get_shipped(DEFAULT_RULESET_ID).version,
        questionnaire=shipped()["dangfeng-zerenzhi"].canonical_json(),
    )
    roles = [SubjectRole.TEAM, SubjectRole.PRINCIPAL] + [SubjectRole.MEMBER] * (subjects - 2)
    session.subjects = [
        Subject(
            name="某某县党政领导班子" if role == SubjectRole.TEAM else _name(rng, index),
            post="" if role == SubjectRole.TEAM else f"县委常委、副县长（分管第{index}项工作）",
            kind=role,
            position=index,
        )
        for index, role in enumerate(roles)
    ]
    shares = sum(share for _, share in GROUPS)
    session.groups = [
        RaterGroup(
            name=name,
            expected_count=ballots * share // shares + ballots // 50,
            position=index,
        )
        for index, (name, share) in enumerate(GROUPS)
    ]
    db.session.add(session)
    db.session.commit()
    open_session(session, None)
    db.session.commit()  # services only flush: the caller ends the transaction

    profiles = _profiles(subjects, rng)
    subject_ids = [s.id for s in session.subjects]
    group_ids = [g.id for g in session.groups]
    weights = [share for _, share in GROUPS]
    # Generated and inserted a chunk at a time, so 100,000 ballots need little memory.
    public_key = session.ballot_public_key
    layout = session.open_layout()
    group_of = rng.choices(group_ids, weights, k=ballots)
    code_of = _issue_codes(session.id, group_of, rng) if close and with_codes else []
    sealing = 0.0
    for first in range(0, ballots, CHUNK_BALLOTS):
        rows, plain, used = [], [], []
        for number in range(first, min(first + CHUNK_BALLOTS, ballots)):
            overall = f"建议加强作风建设，第{number % 97}条意见。" if rng.random() < 0.05 else ""
            ratings, comments = _answers(rng, subject_ids, profiles)
            group_id = group_of[number]
            plaintext = pack(layout, group_id, False, ratings, comments, overall)
            if not close:
                plain.append((group_id, ratings, comments, overall))
                continue
            started = time.process_time()
            box = seal(public_key, plaintext)
            sealing += time.process_time() - started
            rows.append({"session_id": session.id, "box": box})
            if code_of:
                used.append({"code_id": code_of[number], "token": secrets.token_hex(32)})
        if close:  # each sealed ballot used up a code, which the close clears too
            db.session.execute(sa.insert(SealedBallot), rows)
            if used:
                db.session.execute(USE_CODE, used)
            db.session.commit()
        else:
            _insert_plain(session.id, group_ids, plain)
    SEAL_CPU.append(sealing)
    db.session.commit()
    started = time.perf_counter()
    if close:
        with step or contextlib.nullcontext():
            close_session(session, None)
    else:
        db.session.execute(
            sa.update(EvalSession)
            .where(EvalSession.id == session.id)
            .values(state=SessionState.CLOSED, closed_at=dt.datetime.now(dt.UTC))
        )
        db.session.commit()
    return db.session.get(EvalSession, session.id), time.perf_counter() - started


USE_CODE = (
    sa.update(BallotCode.__table__)
    .where(BallotCode.__table__.c.id == sa.bindparam("code_id"))
    .values(status=CodeStatus.USED.value, submit_token_hash=sa.bindparam("token"))
)


def _issue_codes(session_id: int, group_of: list[int], rng: random.Random) -> list[int]:
    """Issue a code for each ballot, as issue_codes does (hash and sealed copy), in an order
    unrelated to the ballots' order; return the id of each ballot's code."""
    key = current_app.config["BALLOT_CODE_KEY"]
    issue_order = list(range(len(group_of)))
    rng.shuffle(issue_order)
    for first in range(0, len(issue_order), CHUNK_BALLOTS):
        numbers = issue_order[first : first + CHUNK_BALLOTS]
        codes = [new_ballot_code() for _ in numbers]
        db.session.execute(
            sa.insert(BallotCode),
            [
                {
                    "session_id": session_id,
                    "group_id": group_of[number],
                    "code_hash": code_hash(key, code),
                    "code_sealed": seal_code(key, code),
                }
                for number, code in zip(numbers, codes, strict=True)
            ],
        )
        db.session.commit()
    ids = db.session.scalars(
        sa.select(BallotCode.id).where(BallotCode.session_id == session_id).order_by(BallotCode.id)
    ).all()
    code_of = [0] * len(group_of)
    for number, code_id in zip(issue_order, ids, strict=True):
        code_of[number] = code_id
    return code_of


def _insert_plain(session_id: int, group_ids: list[int], ballots: list[tuple]) -> None:
    """Insert opened ballots and their comments directly, as a close leaves them."""
    session = db.session.get(EvalSession, session_id)
    layout = session.open_layout()
    session.ballot_layout = layout.document()
    ballot_rows, comment_rows = [], []
    for group_id, ratings, comments, overall in ballots:
        ballot_id = random_id()
        ballot_rows.append(
            {
                "id": ballot_id,
                "session_id": session_id,
                "group_id": group_id,
                "paper": False,
                "comment": overall or None,
                "ratings": layout.encode(ratings),
            }
        )
        comment_rows += [
            {"ballot_id": ballot_id, "subject_id": s, "text": text} for s, text in comments.items()
        ]
    db.session.execute(sa.insert(Ballot), ballot_rows)
    if comment_rows:
        db.session.execute(sa.insert(BallotComment), comment_rows)


def _answers(
    rng: random.Random, subject_ids: list[int], profiles: list[tuple[float, ...]]
) -> tuple[dict, dict]:
    """One ballot's ratings (2 % of lines abstain) and, now and then, a comment."""
    ratings, comments = {}, {}
    for subject_id, profile in zip(subject_ids, profiles, strict=True):
        if rng.random() < 0.02:
            continue
        ratings[(subject_id, "overall")] = rng.choices(OPTIONS, profile)[0]
        if rng.random() < 0.01:
            comments[subject_id] = f"希望在{rng.choice('调研督导学习落实')}方面再加强。"
    return ratings, comments


def _name(rng: random.Random, index: int) -> str:
    return rng.choice(SURNAMES) + GIVEN[index % len(GIVEN)] + rng.choice(GIVEN)


def median_time(task: Callable[[], object], runs: int) -> tuple[float, object]:
    """Run task several times; return the median seconds and the last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = task()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# ---- measuring ----------------------------------------------------------------------------


def rss_mib(field: str) -> int:
    """VmRSS or VmHWM (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux: clear_refs 5); return it."""
    Path("/proc/self/clear_refs").write_text("5")
    return rss_mib("VmRSS")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def server_cpu() -> float:
    """CPU seconds of this database's PostgreSQL backends so far (0 on SQLite)."""
    if db.engine.dialect.name != "postgresql":
        return 0.0
    pids = db.session.scalars(
        sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    ).all()
    db.session.commit()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


class Step:
    """Wall, CPU (this process and, on PostgreSQL, the server's backends) and peak RSS."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self.rss = reset_peak()
        self.server = server_cpu()
        self.cpu = time.process_time()
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.peak = rss_mib("VmHWM")
        self.server = server_cpu() - self.server

    def line(self, wall: float | None = None) -> str:
        server = f"  server CPU {self.server:6.2f} s" if db.engine.dialect.name != "sqlite" else ""
        return (
            f"  {self.label:<30} {wall if wall is not None else self.wall:7.2f} s wall"
            f"  {self.cpu:6.2f} s CPU{server}  peak RSS {self.peak:5d} MiB"
            f" (+{self.peak - self.rss} over {self.rss})  load {load()}"
        )
