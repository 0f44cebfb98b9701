"""Results of a closed session: the tally, the scores, the seal and the exported archive.

Reports (survey/reports) take a SessionResults and never query on their own.
"""

import json
import secrets
from dataclasses import dataclass, field
from fractions import Fraction

import sqlalchemy as sa

from survey.domain.bands import BandTable
from survey.domain.errors import ScoreInputError
from survey.domain.numbers import format_decimal, format_percent, parse_decimal
from survey.domain.questionnaire import Questionnaire, from_document
from survey.domain.roles import SubjectRole
from survey.domain.rulesets import SURVEY_PART, RuleSet
from survey.domain.scoring import (
    SubjectVotes,
    TeamTotal,
    grade,
    score_meeting,
    team_total,
)
from survey.domain.seal import canonical_ballot, seal_of, sealed_document
from survey.domain.tally import (
    BallotRecord,
    GroupSpec,
    ItemCounts,
    ScoredItem,
    SubjectSpec,
    Tally,
    score_item,
    scored_items,
    shown_groups,
    tally_ballots,
)
from survey.extensions import db
from survey.models import Answer, Ballot, EvalSession, SessionState, User
from survey.services import ServiceError
from survey.services.audit import record
from survey.services.ballots import COMMENT_ITEM
from survey.services.rulesets import ruleset_for


@dataclass
class StoredBallot:
    """A ballot as read back: enough to tally, seal and export it."""

    group: str
    ratings: dict[tuple[int, str], str] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)
    overall_comment: str = ""

    def canonical(self) -> dict:
        return canonical_ballot(self.group, self.ratings, self.comments, self.overall_comment)


@dataclass
class SubjectResult:
    """Everything the reports print for one subject."""

    spec: SubjectSpec
    items: dict[str, ItemCounts]  # pooled counts per item key
    score_item: str | None
    counts: ItemCounts | None  # pooled counts of the scored item
    good_or_better: int | None
    rate: Fraction | None  # weighted by rater group when the rule set says so
    points: Fraction | None = None
    deduction: Fraction | None = None
    personal: Fraction | None = None
    final: Fraction | None = None
    band: str | None = None  # the band the rate fell in, as "[90%, 95%) → 18"
    by_group: dict[str, ItemCounts] = field(default_factory=dict)  # shown groups only
    scored: list[ScoredItem] = field(default_factory=list)
    score_total: Fraction | None = None
    grade: str | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def rate_text(self) -> str:
        """Return "94.97%（189/199）", or 无有效票."""
        if self.rate is None or self.counts is None:
            return "无有效票"
        return f"{format_percent(self.rate)}（{self.good_or_better}/{self.counts.valid}）"


@dataclass
class SessionResults:
    """A closed (or, for organizers, open) session's complete results."""

    session: EvalSession
    questionnaire: Questionnaire
    ruleset: RuleSet
    tally: Tally
    subjects: list[SubjectResult]
    groups_shown: list[str]
    groups_hidden: list[str]
    team_total: TeamTotal | None
    team_parts: dict[str, Fraction]
    overall_comments: list[str]
    ballots: list[StoredBallot]  # in random order
    seal: str | None

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


def seal_document(session: EvalSession, ballots: list[StoredBallot] | None = None) -> dict:
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    ballots = stored_ballots(session) if ballots is None else ballots
    return sealed_document(
        session_facts(session),
        json.loads(session.questionnaire),
        ruleset_facts(ruleset),
        [b.canonical() for b in ballots],
    )


def seal_session(session: EvalSession) -> str:
    """Compute and set the seal; called by close_session inside the closing transaction."""
    session.seal = seal_of(seal_document(session))
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
    questionnaire = from_document(json.loads(session.questionnaire))
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    ballots = stored_ballots(session)
    subjects, groups = _specs(session)
    records = [BallotRecord(b.group, b.ratings) for b in ballots]
    tally = tally_ballots(questionnaire, subjects, groups, records)
    shown = shown_groups(tally.received_by_group, session.min_group_size)
    order = [g.name for g in groups]
    rows = [_subject_result(tally, spec, shown) for spec in subjects]
    for row in rows:
        row.comments = [b.comments[row.spec.id] for b in ballots if row.spec.id in b.comments]
    parts = team_parts_of(session)
    total = _score(ruleset, tally, rows, parts)
    if ruleset.grades is not None:
        for row in rows:
            if row.score_total is not None:
                row.grade = grade(ruleset, row.score_total)
    return SessionResults(
        session=session,
        questionnaire=questionnaire,
        ruleset=ruleset,
        tally=tally,
        subjects=rows,
        groups_shown=[name for name in order if name in shown],
        groups_hidden=[name for name in order if name not in shown],
        team_total=total,
        team_parts=parts,
        overall_comments=[b.overall_comment for b in ballots if b.overall_comment],
        ballots=ballots,
        seal=session.seal,
    )


def _subject_result(tally: Tally, spec: SubjectSpec, shown: set[str]) -> SubjectResult:
    questionnaire = tally.questionnaire
    items = {item.key: tally.pooled(spec.id, item.key) for item in tally.items_for(spec)}
    key = None if questionnaire.scored else score_item(questionnaire, spec.role)
    counts = items.get(key) if key else None
    row = SubjectResult(
        spec=spec,
        items=items,
        score_item=key,
        counts=counts,
        good_or_better=counts.good_or_better(questionnaire) if counts else None,
        rate=counts.rate(questionnaire) if counts else None,
    )
    if key:
        by_group = tally.by_group(spec.id, key)
        row.by_group = {name: c for name, c in by_group.items() if name in shown}
    if questionnaire.scored:
        row.scored, row.score_total = scored_items(tally, spec)
    return row


def _score(
    ruleset: RuleSet, tally: Tally, rows: list[SubjectResult], parts: dict
) -> TeamTotal | None:
    """Fill rates, points, deductions and finals by the rule set; return the team total."""
    rated = [row for row in rows if row.score_item]
    if not rated or ruleset.team_points is None or ruleset.personal_deduction is None:
        return None
    votes = [
        SubjectVotes(
            row.spec.name,
            row.spec.role,
            {
                group: counts.vote_counts()
                for group, counts in tally.by_group(row.spec.id, row.score_item).items()
            },
        )
        for row in rated
    ]
    for row, subject_votes in zip(rated, votes, strict=True):
        row.rate = ruleset.rate_of(subject_votes.votes)
    team_row = next((row for row in rated if row.spec.role == SubjectRole.TEAM), None)
    total = None
    other = None
    if team_row is not None and team_row.rate is not None and parts:
        points = ruleset.team_points.lookup(team_row.rate)
        total = team_total(ruleset, points, parts)
        other = total.total - points
    scored = score_meeting(ruleset, votes, other)
    for row, result in zip(rated, scored, strict=True):
        row.points, row.deduction = result.points, result.deduction
        row.personal, row.final = result.personal, result.final
        table: BandTable = (
            ruleset.team_points if row.spec.role == SubjectRole.TEAM else ruleset.personal_deduction
        )
        if row.rate is not None:
            row.band = table.row_text(table.band_for(row.rate))
    return total


def set_team_parts(session: EvalSession, values: dict[str, str], actor: User) -> TeamTotal | None:
    """Record the assessors' points for the team's other parts (作风建设 …), capped by the rules."""
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    if ruleset.team_parts is None:
        raise ServiceError("该测评使用的规则集没有领导班子其他考核部分。")
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
