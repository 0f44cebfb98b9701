"""Ballot codes (一人一码): issued per rater group, never tied to a person."""

from flask import current_app

from survey.extensions import db
from survey.models import BallotCode, RaterGroup, SessionState, User
from survey.security import code_hash, new_ballot_code, seal_code
from survey.services import ServiceError
from survey.services.audit import record

MAX_CODES_PER_BATCH = 2000


def issue_codes(group: RaterGroup, count: int, actor: User | None) -> list[str]:
    """Create count fresh codes for a group and return them in clear, this once."""
    if group.session.state == SessionState.CLOSED:
        raise ServiceError("测评已结束，不能再发放测评码。")
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise ServiceError(f"每次发放的测评码数量应在1到{MAX_CODES_PER_BATCH}之间。")
    key = current_app.config["BALLOT_CODE_KEY"]
    codes = [new_ballot_code() for _ in range(count)]
    db.session.add_all(
        BallotCode(
            session_id=group.session_id,
            group_id=group.id,
            code_hash=code_hash(key, code),
            code_sealed=seal_code(key, code),
        )
        for code in codes
    )
    record(actor, "issue_codes", group.session_id, f"{group.name} {count}个")
    db.session.commit()
    return codes
