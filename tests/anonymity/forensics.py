"""What a forensic examiner does with a copy of the database files: helpers for the tests.

Ballots are cast in a known random order, each carrying a recognisable comment (a "mark"),
so that any copy of a ballot in any file, and any order it was stored in, can be found.
"""

import random
import re
from dataclasses import dataclass
from pathlib import Path

from flask_migrate import upgrade

from survey import create_app
from survey.extensions import db
from survey.models import EvalSession
from survey.security import code_hash
from survey.services.demo import create_demo
from tests.vote.conftest import ballot_form, rating_fields

VOTERS = 45  # >= 40 ballots, as the issue asks
CODES_PER_GROUP = 30  # two demo groups: 60 codes, of which 45 vote
MARK = "FORENSIC-%03d-印记"
MARK_RE = re.compile(rb"FORENSIC-(\d{3})-")
KEY = "forensic-ballot-key"


def make_app(url: str, key_dir: Path):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "forensic",
            "BALLOT_CODE_KEY": KEY,
            "PUBLIC_BASE_URL": "http://vote.example.test",
            "SESSION_KEY_DIR": str(key_dir),
        }
    )
    with app.app_context():
        upgrade()
    return app


@dataclass
class Vote:
    session_id: int
    order: list[str]  # the codes, in the order they voted
    hashes: dict[str, int]  # code_hash -> place in that order


def vote_in_known_order(app) -> Vote:
    """Open a demo session and cast VOTERS ballots, ballot i carrying MARK % i."""
    with app.app_context():
        demo = create_demo(codes_per_group=CODES_PER_GROUP)
        db.session.commit()  # what the `survey demo` command's end does
        codes = [code for group in demo.codes.values() for code in group]
        session_id = demo.session_id
        db.session.remove()
    order = random.Random(13).sample(codes, VOTERS)  # unrelated to the order of issue
    client = app.test_client()  # each request in an app context of its own, as served
    for i, code in enumerate(order):
        fields, page = ballot_form(client, code)
        answers = {name: "good" for name in rating_fields(page)}
        answers["c-overall"] = MARK % i
        response = client.post("/v/submit", data={**fields, **answers})
        assert response.status_code == 303, response.get_data(as_text=True)
    return Vote(session_id, order, {code_hash(KEY, c): i for i, c in enumerate(order)})


def close(app, session_id: int) -> int:
    from survey.services.sessions import close_session

    with app.app_context():
        count = close_session(db.session.get(EvalSession, session_id), None)
        db.session.remove()
    return count


def marks_in(data: bytes) -> list[int]:
    """The ballots whose mark appears in these bytes, in the order they appear."""
    return [int(m.group(1)) for m in MARK_RE.finditer(data)]


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file())


def spearman(ranks: list[int]) -> float:
    """Rank correlation between the stored order (list position) and the voting order."""
    n = len(ranks)
    order = sorted(range(n), key=lambda k: ranks[k])
    voted = [0] * n
    for rank, position in enumerate(order):
        voted[position] = rank
    d2 = sum((position - voted[position]) ** 2 for position in range(n))
    return 1 - 6 * d2 / (n * (n * n - 1))
