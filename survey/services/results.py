"""Results of a closed session: the tally, the scores, the seal and the exported archive.

Reports (survey/reports) take a SessionResults and never query on their own.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

import sqlalchemy as sa

from survey.domain.errors import ScoreInputError
from survey.domain.evaluation import Evaluation, StoredBallot, SubjectResult, evaluate
from survey.domain.numbers import format_decimal, format_percent, parse_decimal
from survey.domain.roles import SubjectRole
from survey.domain.rulesets import SURVEY_PART, RuleSet
from survey.domain.scoring import TeamTotal, team_total
from survey.domain.seal import seal_of, sealed_document
from survey.domain.tally import GroupSpec, SubjectSpec, merge_hidden_groups
from survey.extensions import db
from survey.models import Answer, Ballot, EvalSession, SessionState, User
from survey.services import ServiceError
from survey.services.audit import record
from survey.services.ballots import COMMENT_ITEM
from survey.services.rulesets import ruleset_for

__all__ = ["SessionResults", "StoredBallot", "SubjectResult", "compute_results"]


@dataclass
class SessionResults(Evaluation):
    """A session's evaluation together with the session, its ballots and its seal."""

    session: EvalSession
    ballots: list[StoredBallot]  # in random order
    seal: str | None
    # The instance signing key's fingerprint, printed on every report (services/signing.py).
    key_fingerprint: str = ""
    generated_at: datetime | None = None  # when the reports built from these results are made

    @property
    def result_seal(self) -> str | None:
        """The seal over every printed figure, once the assessment team has signed off."""
        return self.session.result_seal

    @property
    def received(self) -> int:
        return self.tally.received

    @property
    def expected(self) -> int:
        return self.tally.expected

    @property
    def participation_text(self) -> str:
        rate = self.tally.participation()
        return "—" if rate is None else f"{format_percent(rate)}（{self.received}/{self.expected}）"


def stored_ballots(session: EvalSession) -> list[StoredBallot]:
    """Read every ballot of the session with its answers, in one pass."""
    groups = {g.id: g.name for g in session.groups}
    ballots: dict[str, StoredBallot] = {}
    for ballot_id, group_id, comment in db.session.execute(
        sa.select(Ballot.id, Ballot.group_id, Ballot.comment).where(Ballot.session_id == session.id)
    ):
        ballots[ballot_id] = StoredBallot(groups[group_id], overall_comment=comment or "")
    rows = db.session.execute(
        sa.select(Answer.ballot_id, Answer.subject_id, Answer.item, Answer.value, Answer.comment)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .where(Ballot.session_id == session.id)
    )
    for ballot_id, subject_id, item, value, comment in rows:
        if item == COMMENT_ITEM:
            ballots[ballot_id].comments[subject_id] = comment or ""
        else:
            ballots[ballot_id].ratings[(subject_id, item)] = value
    found = list(ballots.values())
    secrets.SystemRandom().shuffle(found)
    return found


def session_facts(session: EvalSession) -> dict:
    """Return the facts the seal covers: who was rated, by whom, in which meeting."""
    return {
        "id": session.id,
        "title": session.title,
        "unit": session.unit,
        "meeting_date": session.meeting_date.isoformat() if session.meeting_date else None,
        "meeting_type": session.meeting_type.value,
        "subjects": [
            {
                "id": s.id,
                "name": s.name,
                "post": s.post,
                "role": s.kind.value,
                "position": s.position,
            }
            for s in session.subjects
        ],
        "groups": [{"name": g.name, "expected": g.expected_count} for g in session.groups],
        "min_group_size": session.min_group_size,
    }


def ruleset_facts(ruleset: RuleSet) -> dict:
    return {
        "id": ruleset.id,
        "version": ruleset.version,
        "name": ruleset.name,
        "sha256": ruleset.sha256,
        "content": ruleset.content.decode("utf-8"),
    }


def seal_document(
    session: EvalSession, ballots: list[StoredBallot] | None = None, *, merge: bool = True
) -> dict:
    """The document the seal covers, and that the archive exports.

    It lists ballots one by one, so it follows the small-group rule of the results page: a
    hidden group's ballots carry the merged label, and the hidden groups are one merged group
    in the facts. (Unless the rule set weighs rater groups by name: the recount needs them.
    merge=False gives the document as sealed before this rule, for older archives.)
    """
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    ballots = stored_ballots(session) if ballots is None else ballots
    facts = session_facts(session)
    canonical = [b.canonical() for b in ballots]
    if merge and not ruleset.rater_group_weights:
        specs = [GroupSpec(g["name"], g["expected"]) for g in facts["groups"]]
        merged, labels = merge_hidden_groups(
            specs, (b.group for b in ballots), session.min_group_size
        )
        facts["groups"] = [{"name": g.name, "expected": g.expected} for g in merged]
        for ballot in canonical:
            ballot["group"] = labels[ballot["group"]]
    return sealed_document(
        facts, json.loads(session.questionnaire), ruleset_facts(ruleset), canonical
    )


def seal_session(session: EvalSession, ballots: list[StoredBallot] | None = None) -> str:
    """Compute and set the seal; called by the close inside its transaction.

    `ballots` are the session's ballots when the caller has them in memory (the close does).
    """
    session.seal = seal_of(seal_document(session, ballots))
    return session.seal


def _specs(session: EvalSession) -> tuple[list[SubjectSpec], list[GroupSpec]]:
    subjects = [SubjectSpec(s.id, s.name, s.post, SubjectRole(s.kind)) for s in session.subjects]
    groups = [GroupSpec(g.name, g.expected_count) for g in session.groups]
    return subjects, groups


def team_parts_of(session: EvalSession) -> dict[str, Fraction]:
    raw = json.loads(session.team_parts) if session.team_parts else {}
    return {key: parse_decimal(value) for key, value in raw.items()}


def compute_results(session: EvalSession) -> SessionResults:
    """Tally and score a session from its stored ballots."""
    ballots = stored_ballots(session)
    subjects, groups = _specs(session)
    evaluation = evaluate(
        session.frozen_questionnaire(),
        ruleset_for(session.rule_set_key, session.rule_set_version),
        subjects,
        groups,
        ballots,
        session.min_group_size,
        team_parts_of(session),
    )
    from survey.services.signing import instance_fingerprint

    return SessionResults(
        session=session,
        ballots=ballots,
        seal=session.seal,
        key_fingerprint=instance_fingerprint(),
        generated_at=datetime.now(UTC),
        **vars(evaluation),
    )


def set_team_parts(session: EvalSession, values: dict[str, str], actor: User) -> TeamTotal | None:
    """Record the assessors' points for the team's other parts (作风建设 …), capped by the rules."""
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    if ruleset.team_parts is None:
        raise ServiceError("该测评使用的规则集没有领导班子其他考核部分。")
    if session.signed_off_at is not None:
        raise ServiceError("测评结果已由考核组签发，其他考核部分得分不能再修改。")
    parsed = {}
    for part in ruleset.team_parts.parts:
        if part.key == SURVEY_PART:
            continue
        raw = (values.get(part.key) or "").strip()
        try:
            parsed[part.key] = parse_decimal(raw)
        except ValueError:
            raise ServiceError(f"“{part.name}”的得分“{raw}”不是有效的数字。") from None
    try:
        checked = team_total(ruleset, Fraction(0), parsed)
    except ScoreInputError as error:
        raise ServiceError(str(error)) from None
    stored = {p.key: format_decimal(p.entered) for p in checked.parts if p.key in parsed}
    session.team_parts = json.dumps(stored, ensure_ascii=False, sort_keys=True)
    record(actor, "set_team_parts", session.id, json.dumps(stored, ensure_ascii=False))
    db.session.commit()
    return checked


def require_closed(session: EvalSession) -> None:
    if session.state != SessionState.CLOSED:
        raise ServiceError("测评结束后才能查看和下载结果：进行中只显示已提交的份数。")
