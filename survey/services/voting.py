"""The voter's hot path: one round trip to look a code up, and the ballot form kept per worker.

A phone's two requests (the page and the submit) each used to cost a rate-limit query, an ORM
load of the code, of the session (with its questionnaire JSON) and of its subjects, and a parse
of the questionnaire. Here:

- `look_up` answers "is this client network throttled?" and "which code is this, in which
  session, in what state?" with ONE SQL statement, so the throttle keeps its cross-worker
  correctness (the counts stay in the database) without a round trip of its own, and a
  throttled client learns nothing about the code it tried (the 429 comes whatever the code).
- `form_for` keeps the parsed questionnaire and the subjects of an open session in the worker's
  memory, keyed by (session id, opened_at, questionnaire hash). Everything it holds is frozen
  while the session is open (every edit calls `require_draft`), a session is opened once, and
  the key is read from the database in the same statement as the code on every request, so no
  worker can serve a form that the database no longer backs: there is nothing to invalidate.
"""

import threading
from dataclasses import dataclass

from flask import current_app

from survey.domain.layout import BallotLayout
from survey.domain.questionnaire import Questionnaire
from survey.extensions import db, pooled_driver_connection
from survey.models import CodeStatus, EvalSession, SessionState, SubjectRole
from survey.security import code_hash
from survey.services import ratelimit
from survey.services.ballots import CodeProblem, CodeRefused, looks_like_code, token_hash

# The code, its session and this client's failure counts, in one statement on both engines.
# The one-row derived table keeps a row (with the counts) when the code does not exist.
LOOKUP = """
    SELECT
      (SELECT coalesce(sum(f.count), 0) FROM failed_attempt f
        WHERE f.bucket = :bucket AND f.minute = :minute) AS this_minute,
      (SELECT coalesce(sum(f.count), 0) FROM failed_attempt f
        WHERE f.bucket = :bucket AND f.minute > :window_start AND f.minute <= :minute)
        AS this_hour,
      c.id, c.status, c.group_id, c.submit_token_hash,
      s.id, s.state, s.opened_at, s.questionnaire_sha256, s.ballot_public_key
    FROM (SELECT 1 AS one) AS one
    LEFT JOIN ballot_code c ON c.code_hash = :code_hash
    LEFT JOIN eval_session s ON s.id = c.session_id
"""


class Throttled(Exception):
    """This client network has used up its failed lookups: answer 429."""


@dataclass(frozen=True)
class CodeLookup:
    """What the hot path needs of a code and its session (no ORM object)."""

    code_id: int
    status: CodeStatus
    group_id: int
    submit_token_hash: str | None
    session_id: int
    state: SessionState
    session_key: tuple
    public_key: str | None  # the session's sealing key, set when it opened

    @property
    def id(self) -> int:  # what cast() reads of a code
        return self.code_id

    def is_repeat(self, submit_token: str) -> bool:
        return self.status == CodeStatus.USED and self.submit_token_hash == token_hash(submit_token)


def look_up(typed: str, address: str | None = None) -> CodeLookup:
    """Return the code if it may vote now; raise Throttled or CodeRefused (saying why) if not.

    `address` is the client's (the request's when None). One statement on a pooled driver
    connection in autocommit, outside the ORM session: one consistent read needs no
    transaction, and on PostgreSQL no BEGIN/ROLLBACK round trips.
    """
    config = current_app.config
    minute = ratelimit.current_minute()
    per_minute, per_hour = ratelimit.limits()
    wanted = code_hash(config["BALLOT_CODE_KEY"], typed)
    if address is None:
        address = ratelimit.client_address()
    params = {
        "bucket": ratelimit.bucket_for(address, str(config["SECRET_KEY"])),
        "minute": minute,
        "window_start": minute - ratelimit.WINDOW_MINUTES,
        "code_hash": wanted if looks_like_code(typed) else "",
    }
    with pooled_driver_connection() as connection:
        row = connection.execute(LOOKUP, params).fetchone()
    this_minute, this_hour, code_id, status, group_id, token, session_id, state = row[:8]
    if this_minute >= per_minute or this_hour >= per_hour:
        raise Throttled()
    if code_id is None:
        raise CodeRefused(CodeProblem.UNKNOWN)
    found = CodeLookup(
        code_id=code_id,
        status=CodeStatus(status),
        group_id=group_id,
        submit_token_hash=token,
        session_id=session_id,
        state=SessionState(state),
        session_key=(session_id, str(row[8]), row[9]),
        public_key=row[10],
    )
    if found.status == CodeStatus.VOID:
        raise CodeRefused(CodeProblem.VOID)
    if found.state == SessionState.DRAFT:
        raise CodeRefused(CodeProblem.NOT_OPEN)
    if found.state != SessionState.OPEN:  # closing or closed
        raise CodeRefused(CodeProblem.CLOSED)
    return found


def may_vote(found: CodeLookup) -> CodeLookup:
    """Refuse a used code (look_up lets it through so that a submit can spot its own repeat)."""
    if found.status == CodeStatus.USED:
        raise CodeRefused(CodeProblem.USED)
    return found


@dataclass(frozen=True)
class SubjectLine:
    id: int
    kind: SubjectRole


@dataclass(frozen=True)
class BallotForm:
    """An open session's frozen ballot, shaped for parse_submission (which reads it
    as it reads an EvalSession: its questionnaire, subjects and layout)."""

    key: tuple
    questionnaire: Questionnaire
    subjects: tuple[SubjectLine, ...]
    layout: BallotLayout

    def frozen_questionnaire(self) -> Questionnaire:
        return self.questionnaire

    def open_layout(self) -> BallotLayout:
        return self.layout


_forms: dict[tuple, BallotForm] = {}
_lock = threading.Lock()
MAX_CACHED = 64  # sessions open at once on one server; far more than any real day


def form_for(found: CodeLookup) -> BallotForm:
    """The open session's ballot form, built once per worker process."""
    form = _forms.get(found.session_key)
    if form is not None:
        return form
    session = db.session.get(EvalSession, found.session_id)
    form = BallotForm(
        key=found.session_key,
        questionnaire=session.frozen_questionnaire(),
        subjects=tuple(SubjectLine(s.id, s.kind) for s in session.subjects),
        layout=session.open_layout(),
    )
    remember(_forms, found.session_key, form)
    return form


def remember(cache: dict, key, value) -> None:
    """Store in a small per-process cache, forgetting the oldest entries when it is full."""
    with _lock:
        while len(cache) >= MAX_CACHED:
            cache.pop(next(iter(cache)))
        cache[key] = value
