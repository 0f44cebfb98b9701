"""Ballot codes (一人一码): issued per rater group, never tied to a person.

The organizer sees how many codes of each group were issued, used and voided, never which
code voted. Cards are printed from the sealed copies of unused codes; close wipes the copies.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from survey.extensions import db
from survey.models import BallotCode, CodeStatus, EvalSession, RaterGroup, SessionState, User
from survey.security import (
    CODE_ALPHABET,
    CODE_LENGTH,
    canonical_code,
    code_hash,
    display_code,
    new_ballot_code,
    seal_code,
    unseal_code,
)
from survey.services import ServiceError
from survey.services.audit import record

MAX_CODES_PER_BATCH = 2000
MAX_VOID_LINES = 500


def lock_session(session: EvalSession) -> None:
    """Re-read the session's row under a lock, so its state cannot change before the commit."""
    # FOR UPDATE on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE).
    db.session.refresh(session, with_for_update=True)


def issue_codes(group: RaterGroup, count: int, actor: User | None) -> list[str]:
    """Create count fresh codes for a group and return them in clear, this once."""
    if not isinstance(count, int) or not 1 <= count <= MAX_CODES_PER_BATCH:
        raise ServiceError(f"每次发放的测评码数量应在1到{MAX_CODES_PER_BATCH}之间。")
    lock_session(group.session)
    if group.session.state in (SessionState.CLOSING, SessionState.CLOSED):
        raise ServiceError("测评已结束，不能再发放测评码。")
    key = current_app.config["BALLOT_CODE_KEY"]
    codes = _fresh_codes(key, count)
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
    db.session.flush()
    return codes


def _fresh_codes(key: str, count: int) -> list[str]:
    """Draw count distinct codes that no session uses yet (a clash is ~2**-49 per pair)."""
    codes: dict[str, str] = {}
    while len(codes) < count:
        code = new_ballot_code()
        codes.setdefault(code_hash(key, code), code)
    taken = set(
        db.session.scalars(sa.select(BallotCode.code_hash).where(BallotCode.code_hash.in_(codes)))
    )
    for digest in taken:
        del codes[digest]
    return list(codes.values()) + (_fresh_codes(key, len(taken)) if taken else [])


@dataclass(frozen=True)
class GroupCodeCounts:
    """How many codes of one group exist in each status; never which ones."""

    group: RaterGroup
    unused: int
    used: int
    void: int

    @property
    def issued(self) -> int:
        return self.unused + self.used + self.void


def code_counts(session: EvalSession) -> list[GroupCodeCounts]:
    """Return issued / unused / used / void counts for each of the session's groups."""
    rows = db.session.execute(
        sa.select(BallotCode.group_id, BallotCode.status, sa.func.count())
        .where(BallotCode.session_id == session.id)
        .group_by(BallotCode.group_id, BallotCode.status)
    )
    counts: dict[tuple[int, CodeStatus], int] = {
        (group_id, CodeStatus(status)): number for group_id, status, number in rows
    }
    return [
        GroupCodeCounts(
            group,
            unused=counts.get((group.id, CodeStatus.UNUSED), 0),
            used=counts.get((group.id, CodeStatus.USED), 0),
            void=counts.get((group.id, CodeStatus.VOID), 0),
        )
        for group in session.groups
    ]


def void_codes(session: EvalSession, typed: str, actor: User | None) -> int:
    """Void the unused codes typed one per line; refuse all if any line is not one of them."""
    lines = [(number, line.strip()) for number, line in enumerate(typed.splitlines(), 1)]
    lines = [(number, line) for number, line in lines if line]
    if not lines:
        raise ServiceError("请输入要作废的测评码，每行一个。")
    if len(lines) > MAX_VOID_LINES:
        raise ServiceError(f"每次最多作废{MAX_VOID_LINES}个测评码。")
    lock_session(session)
    if session.state in (SessionState.CLOSING, SessionState.CLOSED):
        raise ServiceError("测评已结束，测评码已全部失效，无需作废。")
    key = current_app.config["BALLOT_CODE_KEY"]
    errors: list[str] = []
    found: dict[int, BallotCode] = {}
    for number, line in lines:
        code = canonical_code(line)
        if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
            errors.append(f"第{number}行：“{line[:40]}”不是有效的测评码格式。")
            continue
        row = db.session.scalar(
            sa.select(BallotCode).where(
                BallotCode.code_hash == code_hash(key, code),
                BallotCode.session_id == session.id,
            )
        )
        # One message for unknown, used and already void: the page must not tell which code voted.
        if row is None or row.status != CodeStatus.UNUSED or row.id in found:
            errors.append(f"第{number}行：{display_code(code)} 不是本测评中未使用的测评码。")
            continue
        found[row.id] = row
    if errors:
        raise ServiceError("没有作废任何测评码：" + " ".join(errors))
    for row in found.values():
        row.status = CodeStatus.VOID
        row.code_sealed = None
    record(actor, "void_codes", session.id, f"{len(found)}个")
    db.session.flush()
    return len(found)


def unused_codes_to_print(
    session: EvalSession, actor: User | None, group: RaterGroup | None = None
) -> list[tuple[RaterGroup, list[str]]]:
    """Return the unused codes in clear, per group (one group, or all), and log the printing."""
    if session.state in (SessionState.CLOSING, SessionState.CLOSED):
        raise ServiceError("测评已结束，测评码已失效，不能再打印卡片。")
    key = current_app.config["BALLOT_CODE_KEY"]
    batches = []
    for each in [group] if group is not None else session.groups:
        sealed = db.session.scalars(
            sa.select(BallotCode.code_sealed)
            .where(
                BallotCode.group_id == each.id,
                BallotCode.status == CodeStatus.UNUSED,
                BallotCode.code_sealed.is_not(None),
            )
            .order_by(BallotCode.id)
        )
        codes = [unseal_code(key, value) for value in sealed]
        if codes:
            batches.append((each, codes))
    total = sum(len(codes) for _group, codes in batches)
    if not total:
        raise ServiceError("没有可打印的未使用测评码，请先发放测评码。")
    scope = group.name if group is not None else "全部类别"
    record(actor, "download_cards", session.id, f"{scope}，{total}张卡片")
    db.session.flush()
    return batches
