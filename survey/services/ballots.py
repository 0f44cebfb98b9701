"""Casting ballots: look a code up, check a submission, store it exactly once.

One transaction marks the code used and stores the ballot sealed to the session's public key
(survey/services/sealing.py): until the close opens the seals in one shuffled batch, the
database holds ciphertext only. The sealed row carries no code, time, address or sequence
(see survey/models.py and docs/anonymity.md).
"""

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app

from survey.boxes import seal
from survey.domain import plaintext
from survey.domain.layout import BallotLayout
from survey.extensions import begin_write, db, pooled_driver_connection
from survey.inputs import strict_int
from survey.models import (
    Ballot,
    BallotCode,
    CodeStatus,
    EvalSession,
    SealedBallot,
    SessionState,
    random_id,
)
from survey.security import CODE_ALPHABET, CODE_LENGTH, canonical_code, code_hash
from survey.services import ServiceError
from survey.services.sealing import create_session_key

MAX_FIELDS = 2000  # far above any real ballot (30 subjects x 4 items); refuses junk early
COMMENT_ITEM = "comment"


class CodeProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    VOID = "void"
    NOT_OPEN = "not_open"
    CLOSED = "closed"


PROBLEM_PAGES = {
    CodeProblem.UNKNOWN: (404, "测评码无效", "没有找到这个测评码，请核对卡片上的字符后重新输入。"),
    CodeProblem.USED: (
        409,
        "测评码已使用",
        "这个测评码已经提交过测评表，每个测评码只能提交一次。如果是您刚才提交的，说明已提交成功。",
    ),
    CodeProblem.VOID: (410, "测评码已作废", "这个测评码已被组织者作废，请向会务人员领取新的卡片。"),
    CodeProblem.NOT_OPEN: (
        403,
        "测评尚未开始",
        "本次测评还没有开始，请等待主持人宣布开始后再扫码。",
    ),
    CodeProblem.CLOSED: (410, "测评已结束", "本次测评已经结束，不再接受提交。"),
}


class CodeRefused(ServiceError):
    """The code cannot vote; the problem picks the page shown."""

    def __init__(self, problem: CodeProblem):
        self.problem = problem
        self.status, self.title, message = PROBLEM_PAGES[problem]
        super().__init__(message)


class BallotInvalid(ServiceError):
    """A submission that is malformed or breaks the questionnaire's rules."""


@dataclass
class Submission:
    """A checked ballot, ready to store: {(subject_id, item): option} plus comments, and the
    session's layout the ratings are sealed in."""

    layout: BallotLayout
    ratings: dict[tuple[int, str], str] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)
    overall_comment: str = ""
    unanswered: int = 0  # lines left blank: abstentions, confirmed by the rater before storing


def looks_like_code(typed: str) -> bool:
    code = canonical_code(typed)
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def lookup_code(typed: str) -> BallotCode | None:
    if not looks_like_code(typed):
        return None
    key = current_app.config["BALLOT_CODE_KEY"]
    return db.session.scalar(
        sa.select(BallotCode).where(BallotCode.code_hash == code_hash(key, typed))
    )


def find_code(typed: str) -> BallotCode:
    """Return the code's row if it may vote now, or raise CodeRefused saying why not."""
    code = lookup_code(typed)
    if code is None:
        raise CodeRefused(CodeProblem.UNKNOWN)
    session = db.session.get(EvalSession, code.session_id)
    if code.status == CodeStatus.VOID:
        raise CodeRefused(CodeProblem.VOID)
    if session.state in (SessionState.CLOSING, SessionState.CLOSED):
        raise CodeRefused(CodeProblem.CLOSED)
    if session.state == SessionState.DRAFT:
        raise CodeRefused(CodeProblem.NOT_OPEN)
    if code.status == CodeStatus.USED:
        raise CodeRefused(CodeProblem.USED)
    return code


def code_for_submission(typed: str, submit_token: str) -> BallotCode | None:
    """Like find_code, but None when this very submission (same form token) was stored."""
    try:
        return find_code(typed)
    except CodeRefused as refused:
        if refused.problem == CodeProblem.USED and is_repeat(lookup_code(typed), submit_token):
            return None
        raise


def is_repeat(code: BallotCode, submit_token: str) -> bool:
    return code.status == CodeStatus.USED and code.submit_token_hash == token_hash(submit_token)


def parse_submission(session: EvalSession, form: dict[str, str]) -> Submission:
    """Check every field of a posted ballot against the frozen questionnaire.

    Field names: r-<subject id>-<item key> = option key; c-<subject id> and c-overall = text.
    Anything else, an unknown option or subject, or an over-long comment is refused whole.
    """
    if len(form) > MAX_FIELDS:
        raise BallotInvalid("提交的内容过多，无法处理。")
    questionnaire = session.frozen_questionnaire()
    subjects = {subject.id: subject for subject in session.subjects}
    options = questionnaire.option_keys()
    limit = questionnaire.comment_max_length
    submission = Submission(session.open_layout())
    for name, raw in form.items():
        if not isinstance(name, str) or not isinstance(raw, str):
            raise BallotInvalid("测评表中有无法识别的内容，请刷新页面后重新填写。")
        value = raw.strip()
        kind, _, rest = name.partition("-")
        if kind == "r":
            subject_id, _, item = rest.partition("-")
            subject = subjects.get(strict_int(subject_id))
            allowed = {i.key for i in questionnaire.items_for(subject.kind)} if subject else set()
            if item not in allowed:
                raise BallotInvalid("测评表中有无法识别的项目，请刷新页面后重新填写。")
            if value == "":
                continue  # left blank: an abstention on this line
            if value not in options:
                raise BallotInvalid("测评表中有无法识别的评价等次，请刷新页面后重新填写。")
            submission.ratings[(subject.id, item)] = value
        elif kind == "c":
            if len(value) > limit:
                raise BallotInvalid(f"意见建议每处不超过{limit}字，请删减后再提交。")
            if rest == "overall" and questionnaire.comment_overall:
                submission.overall_comment = value
            elif strict_int(rest) in subjects and questionnaire.comment_per_subject:
                if value:
                    submission.comments[strict_int(rest)] = value
            else:
                raise BallotInvalid("测评表中有无法识别的意见栏，请刷新页面后重新填写。")
        else:
            raise BallotInvalid("测评表中有无法识别的内容，请刷新页面后重新填写。")
    if not submission.ratings:
        raise BallotInvalid("测评表未作任何评价，不能提交空表。请至少评价一项。")
    submission.unanswered = submission.layout.width - len(submission.ratings)
    return submission


def ballot_grid(session: EvalSession) -> dict:
    """What a ballot form shows, on the phone and in the clerks' entry form alike: the
    session, its frozen questionnaire, and `rows`: (subject, its items) in ballot order."""
    questionnaire = session.frozen_questionnaire()
    rows = [(subject, questionnaire.items_for(subject.kind)) for subject in session.subjects]
    return {"session": session, "questionnaire": questionnaire, "rows": rows}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cast(code, submit_token: str, submission: Submission) -> None:
    """Use the code up and store the ballot atomically; a repeat is a no-op.

    `code` is what services.voting.look_up found: its `id`, `session_id`, `group_id` and the
    session's `public_key` as read with it (a session's key is set when it opens and never
    changes while it is open; the claim below checks it anyway). A repeat of the very same
    submission (same form token) returns quietly, so a refresh or a network retry shows the
    same receipt. Any other use of a spent code is refused: the claim re-checks the status
    atomically.

    The ballot is sealed before the write begins, so no lock waits on the cryptography. The
    write is the one of every phone, so its statements go straight to a pooled driver
    connection, outside the ORM session (extensions.pooled_driver_connection):
    - PostgreSQL: ONE statement in autocommit (CLAIM_AND_STORE): a share lock on the session
      row while it is open (a concurrent close waits for this ballot, or this ballot waits for
      the close and then sees it), the code's claim, and the sealed ballot's insert only if
      the claim succeeded; atomic as any statement, and one round trip.
    - SQLite: BEGIN IMMEDIATE (the writers' queue, then the write lock), the claim with the
      session's state checked in the same UPDATE, the insert, COMMIT.
    When nothing was stored, `refusal` says why, as the separate checks used to.
    """
    public_key = code.public_key or ensure_public_key(code.session_id)
    box = sealed_box(public_key, code.group_id, submission, paper=False)
    params = {
        "code_id": code.id,
        "session_id": code.session_id,
        "open": SessionState.OPEN.value,
        "key": public_key,
        "used": CodeStatus.USED.value,
        "unused": CodeStatus.UNUSED.value,
        "token": token_hash(submit_token),
        "ballot_id": random_id(),
        "box": box,
    }
    with pooled_driver_connection() as connection:
        if connection.dialect == "postgresql":  # autocommit: the statement is the transaction
            stored = connection.execute(CLAIM_AND_STORE, params).rowcount == 1
        else:
            stored = claim_on_sqlite(connection, params)
    if stored:
        return
    problem = refusal(code, submit_token)
    if problem is not None:
        raise CodeRefused(problem)


def claim_on_sqlite(connection, params: dict) -> bool:
    """Claim the code and insert the sealed ballot in one write transaction; whether it took."""
    begin_write(connection.connection)
    try:
        stored = connection.execute(CLAIM_IN_OPEN_SESSION, params).rowcount == 1
        if stored:
            connection.execute(INSERT_SEALED, params)
            connection.connection.commit()  # FULL sync: durable once this returns
        else:
            connection.connection.rollback()
    except BaseException:
        connection.connection.rollback()
        raise
    return stored


def refusal(code, submit_token: str) -> CodeProblem | None:
    """Why a claim stored nothing: the session is not open, or the code was spent (None when
    this very submission was stored before: a repeat)."""
    state = db.session.scalar(sa.select(EvalSession.state).where(EvalSession.id == code.session_id))
    status, stored_token = db.session.execute(
        sa.select(BallotCode.status, BallotCode.submit_token_hash).where(BallotCode.id == code.id)
    ).one()
    db.session.rollback()
    if state != SessionState.OPEN:
        return CodeProblem.NOT_OPEN if state == SessionState.DRAFT else CodeProblem.CLOSED
    if status == CodeStatus.USED and stored_token == token_hash(submit_token):
        return None
    return CodeProblem.VOID if status == CodeStatus.VOID else CodeProblem.USED


# PostgreSQL: lock the session row while it is open, claim the code there, and store the
# ballot only if the claim took: one statement. A close that changed the state first makes
# the share lock wait for it and then find no open session (READ COMMITTED re-checks the row).
CLAIM_AND_STORE = """
WITH open_session AS (
  SELECT id FROM eval_session
  WHERE id = :session_id AND state = :open AND ballot_public_key = :key
  FOR SHARE
), claimed AS (
  UPDATE ballot_code SET status = :used, submit_token_hash = :token
  WHERE id = :code_id AND status = :unused AND session_id IN (SELECT id FROM open_session)
  RETURNING session_id
)
INSERT INTO sealed_ballot (id, session_id, box) SELECT :ballot_id, session_id, :box FROM claimed
"""
# SQLite, under BEGIN IMMEDIATE's write lock: no close can change the state meanwhile.
CLAIM_IN_OPEN_SESSION = """
UPDATE ballot_code SET status = :used, submit_token_hash = :token
WHERE id = :code_id AND status = :unused AND EXISTS (
  SELECT 1 FROM eval_session
  WHERE id = :session_id AND state = :open AND ballot_public_key = :key
)
"""
# All of sealed_ballot's columns; the id is the model's random default (models.random_id).
INSERT_SEALED = (
    "INSERT INTO sealed_ballot (id, session_id, box) VALUES (:ballot_id, :session_id, :box)"
)


def sealed_box(public_key: str, group_id: int, submission: Submission, *, paper: bool) -> bytes:
    """The ballot's content sealed to the session key: what the database stores of it."""
    return seal(
        public_key,
        plaintext.pack(
            submission.layout,
            group_id,
            paper,
            submission.ratings,
            submission.comments,
            submission.overall_comment,
        ),
    )


def store_sealed(
    session_id: int, public_key: str, group_id: int, submission: Submission, *, paper: bool
) -> None:
    """Add the ballot, sealed to the session key, to the current transaction (one INSERT)."""
    box = sealed_box(public_key, group_id, submission, paper=paper)
    db.session.execute(sa.insert(SealedBallot).values(session_id=session_id, box=box))


def ensure_public_key(session_id: int) -> str:
    """Give an open session that has no key pair yet (opened by an older version) its own.

    Never for a session that is no longer open: the close may have destroyed its key already,
    and a new private key would then outlive the close.
    """
    state, public_key = db.session.execute(
        sa.select(EvalSession.state, EvalSession.ballot_public_key)
        .where(EvalSession.id == session_id)
        .with_for_update()
    ).one()
    if public_key is None:
        if state != SessionState.OPEN:
            db.session.rollback()
            raise CodeRefused(
                CodeProblem.NOT_OPEN if state == SessionState.DRAFT else CodeProblem.CLOSED
            )
        public_key = create_session_key(session_id)
        db.session.execute(
            sa.update(EvalSession)
            .where(EvalSession.id == session_id)
            .values(ballot_public_key=public_key)
        )
    db.session.commit()
    return public_key


def ballot_count(session_id: int) -> int:
    """Ballots received: still sealed while open, opened (and counted) after close."""
    sealed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SealedBallot)
        .where(SealedBallot.session_id == session_id)
    )
    opened = db.session.scalar(
        sa.select(sa.func.count()).select_from(Ballot).where(Ballot.session_id == session_id)
    )
    return int(sealed) + int(opened)
