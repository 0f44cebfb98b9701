"""A closed synthetic session in a throwaway SQLite instance, for the report and tally benches.

Ballots are sealed to the session key as cast() seals them and inserted in bulk (executemany),
then the session is closed through survey.services.sessions.close_session, which opens every
seal, shuffles and scrubs: the benches see what a real close does and leaves behind.
"""

import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from survey import create_app  # noqa: E402
from survey.domain import DEFAULT_RULESET_ID, get_shipped  # noqa: E402
from survey.domain.questionnaire import shipped  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import (  # noqa: E402
    EvalSession,
    MeetingType,
    RaterGroup,
    Role,
    SealedBallot,
    Subject,
    SubjectRole,
    User,
)
from survey.security import hash_password, new_password  # noqa: E402
from survey.services.sealing import ballot_plaintext, seal  # noqa: E402
from survey.services.sessions import close_session, open_session  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵周吴徐孙马胡朱郭何罗高林"
GIVEN = "明华芳强静伟敏磊洋勇军杰娟涛艳超平刚霞"
GROUPS = (("县级领导干部", 2), ("部门主要负责人", 3))  # name, share of the attendance
OPTIONS = ("good", "fairly_good", "average", "poor")
CHUNK_BALLOTS = 2_000


@contextlib.contextmanager
def bench_app() -> Iterator[None]:
    """Yield inside the app context of a fresh, migrated SQLite instance in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.sqlite'}",
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
    subjects: int, ballots: int, seed: int = 2025
) -> tuple[EvalSession, float]:
    """Create, fill and close a session; return it and the seconds close_session took.

    The CPU time spent sealing the ballots is appended to SEAL_CPU.
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

    profiles = _profiles(subjects, rng)
    subject_ids = [s.id for s in session.subjects]
    group_ids = [g.id for g in session.groups]
    weights = [share for _, share in GROUPS]
    # Generated and inserted a chunk at a time, so 100,000 ballots need little memory.
    public_key = session.ballot_public_key
    sealing = 0.0
    for first in range(0, ballots, CHUNK_BALLOTS):
        rows = []
        for number in range(first, min(first + CHUNK_BALLOTS, ballots)):
            overall = f"建议加强作风建设，第{number % 97}条意见。" if rng.random() < 0.05 else ""
            ratings, comments = _answers(rng, subject_ids, profiles)
            plaintext = ballot_plaintext(
                rng.choices(group_ids, weights)[0], False, ratings, comments, overall
            )
            started = time.process_time()
            box = seal(public_key, plaintext)
            sealing += time.process_time() - started
            rows.append({"session_id": session.id, "box": box})
        db.session.execute(sa.insert(SealedBallot), rows)
    SEAL_CPU.append(sealing)
    db.session.commit()
    started = time.perf_counter()
    close_session(session, None)
    return db.session.get(EvalSession, session.id), time.perf_counter() - started


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
