"""Helpers to fill a ballot (the open_session fixture is in tests/conftest.py)."""

import re
from dataclasses import dataclass

import sqlalchemy as sa

from survey.boxes import Opener
from survey.domain.plaintext import unpack
from survey.extensions import db
from survey.models import BallotCode, CodeStatus, EvalSession, SealedBallot
from survey.services.ballots import ballot_count
from survey.services.sealing import private_key


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
    count = ballot_count(session_id)
    db.session.rollback()  # and hold no lock while a server writes
    return count


def sealed_contents(session_id: int) -> list["SealedContent"]:
    """Open the session's sealed ballots with its key file, as the close will."""
    db.session.rollback()
    opener = Opener(private_key(session_id))
    session = db.session.get(EvalSession, session_id)
    layout = session.open_layout()
    boxes = db.session.scalars(
        sa.select(SealedBallot.box).where(SealedBallot.session_id == session_id)
    )
    contents = [SealedContent.of(unpack(opener.open(box), layout), layout) for box in boxes]
    db.session.rollback()
    return contents


@dataclass(frozen=True)
class SealedContent:
    """A sealed ballot as opened, its ratings decoded: {(subject id, item): option}."""

    group_id: int
    paper: bool
    ratings: dict
    comments: dict
    overall: str

    @classmethod
    def of(cls, content, layout) -> "SealedContent":
        return cls(
            content.group_id,
            content.paper,
            layout.decode(content.values),
            dict(content.comments),
            content.overall,
        )


def code_statuses(session_id: int) -> dict[CodeStatus, int]:
    db.session.rollback()
    rows = db.session.execute(
        sa.select(BallotCode.status, sa.func.count())
        .where(BallotCode.session_id == session_id)
        .group_by(BallotCode.status)
    )
    statuses = dict(rows.all())
    db.session.rollback()
    return statuses
