"""Helpers to fill a ballot (the open_session fixture is in tests/conftest.py)."""

import json
import re

import sqlalchemy as sa

from survey.extensions import db
from survey.models import BallotCode, CodeStatus, SealedBallot
from survey.services.ballots import ballot_count
from survey.services.sealing import Opener, private_key


def ballot_form(client, code: str) -> tuple[dict, str]:
    """Open the ballot for a code; return its hidden fields and the page."""
    page = client.get(f"/v/{code}").get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    return fields, page


def rating_fields(page: str) -> list[str]:
    """The names of the rating questions on a ballot page, in order."""
    return list(dict.fromkeys(re.findall(r'name="(r-\d+-\w+)"', page)))


def full_answers(page: str, option: str = "good") -> dict:
    return {name: option for name in rating_fields(page)}


def count_ballots(session_id: int) -> int:
    """Ballots received: sealed while the session is open, in clear after close."""
    db.session.rollback()  # read what other connections committed
    return ballot_count(session_id)


def sealed_contents(session_id: int) -> list[dict]:
    """Open the session's sealed ballots with its key file, as the close will."""
    db.session.rollback()
    opener = Opener(private_key(session_id))
    boxes = db.session.scalars(
        sa.select(SealedBallot.box).where(SealedBallot.session_id == session_id)
    )
    return [json.loads(opener.open(box)) for box in boxes]


def code_statuses(session_id: int) -> dict[CodeStatus, int]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(BallotCode.status, sa.func.count())
        .where(BallotCode.session_id == session_id)
        .group_by(BallotCode.status)
    )
    return dict(rows.all())
