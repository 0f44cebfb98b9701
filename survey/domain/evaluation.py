"""Evaluate a session from plain data: tally, rates, points, finals, grades.

The service layer feeds it what the database holds; an archivist's `survey verify` feeds it
the sealed document of an exported archive. Both get the same numbers from the same code.
"""

from dataclasses import dataclass, field, replace
from fractions import Fraction
from types import MappingProxyType

from .bands import BandTable
from .exactness import exact_note, rounding_note
from .numbers import format_decimal, format_percent, parse_decimal
from .questionnaire import Questionnaire, from_document
from .roles import SubjectRole
from .rulesets import RuleSet, parse_ruleset
from .scoring import (
    CombinedScore,
    SubjectVotes,
    TeamTotal,
    combined_score,
    grade,
    score_meeting,
    team_total,
)
from .seal import canonical_ballot
from .tally import (
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
    combined: CombinedScore | None = None  # seed 003: 组织考评 + 群众评议, graded together
    rate_note: str | None = None  # "精确值低于95%" when the rounded rate suggests another band
    score_note: str = (
        ""  # "18089/201，精确值低于90分" when the rounded score suggests another grade
    )

    @property
    def graded_score(self) -> Fraction | None:
        """Return the score the grade is given on: the combined one, else the questionnaire's."""
        if self.combined is not None:
            return self.combined.total
        return self.score_total

    @property
    def grade_basis(self) -> str:
        """Say which score the grade was given on, for every sheet that prints it."""
        if self.combined is not None:
            return "按综合得分(组织考评 + 群众评议)评定"
        return "按问卷得分评定"

    @property
    def grade_text(self) -> str | None:
        """Return the grade with its basis, or why there is none yet."""
        if self.combined is not None and self.combined.total is None:
            return f"待{'、'.join(self.combined.missing)}录入后评定"
        if self.grade is None:
            return None
        return f"{self.grade}({self.grade_basis})"

    @property
    def rate_text(self) -> str:
        """Return "94.97%（189/199）", or 无有效票."""
        if self.rate is None:
            return "无有效票"
        note = f"，{self.rate_note}" if self.rate_note else ""
        return f"{format_percent(self.rate)}（{self.rate_fraction}{note}）"

    @property
    def pooled_rate(self) -> Fraction | None:
        """Return the unweighted rate: every valid vote pooled, whatever the weights."""
        if self.counts is None or not self.counts.valid:
            return None
        return Fraction(self.good_or_better, self.counts.valid)

    @property
    def pooled_text(self) -> str | None:
        """Return "不加权 85.00%（17/20）" when the banded rate is weighted, else None."""
        pooled = self.pooled_rate
        if pooled is None or self.rate is None or pooled == self.rate:
            return None
        return f"不加权 {format_percent(pooled)}（{self.good_or_better}/{self.counts.valid}）"

    @property
    def rate_fraction(self) -> str | None:
        """Return the banded rate as a fraction: the vote counts ("189/199") when pooled,
        the exact weighted value when the rule set weighs rater groups."""
        if self.rate is None or self.counts is None:
            return None
        valid = self.counts.valid
        if valid and Fraction(self.good_or_better, valid) == self.rate:
            return f"{self.good_or_better}/{valid}"
        return f"{self.rate.numerator}/{self.rate.denominator}"


@dataclass
class Evaluation:
    """Everything computed from one session's ballots under its rule set."""

    questionnaire: Questionnaire
    ruleset: RuleSet
    tally: Tally
    subjects: list[SubjectResult]
    groups_shown: list[str]
    groups_hidden: list[str]
    team_total: TeamTotal | None
    team_parts: dict[str, Fraction]
    overall_comments: list[str]


def evaluate(
    questionnaire: Questionnaire,
    ruleset: RuleSet,
    subjects: list[SubjectSpec],
    groups: list[GroupSpec],
    ballots: list[StoredBallot],
    min_group_size: int,
    team_parts: dict[str, Fraction],
) -> Evaluation:
    """Tally the ballots and score every subject by the rule set."""
    records = [BallotRecord(b.group, b.ratings) for b in ballots]
    tally = tally_ballots(questionnaire, subjects, groups, records)
    comments = {
        spec.id: [b.comments[spec.id] for b in ballots if spec.id in b.comments]
        for spec in subjects
    }
    overall = [b.overall_comment for b in ballots if b.overall_comment]
    return evaluate_tally(ruleset, tally, comments, overall, min_group_size, team_parts)


def evaluate_tally(
    ruleset: RuleSet,
    tally: Tally,
    comments: dict[int, list[str]],
    overall_comments: list[str],
    min_group_size: int,
    team_parts: dict[str, Fraction],
) -> Evaluation:
    """Score every subject of a tally already counted (by tally_ballots or tally_counts)."""
    questionnaire, subjects, groups = tally.questionnaire, tally.subjects, tally.groups
    weights = session_weights(groups)
    if weights and not ruleset.rater_group_weights:
        # The session's own weights stand in for the rule set's (which win when it has them).
        ruleset = replace(ruleset, rater_group_weights=MappingProxyType(weights))
    shown = shown_groups(tally.received_by_group, min_group_size)
    rows = [_subject_result(tally, spec, shown) for spec in subjects]
    for row in rows:
        # Sorted, so that comments keep no trace of the order ballots came in.
        row.comments = sorted(comments.get(row.spec.id, []))
    total = _score(ruleset, tally, rows, team_parts)
    if ruleset.grades is not None:
        for row in rows:
            if row.score_total is None:
                continue
            if ruleset.combined is not None:
                # The questionnaire is only the 群众评议 part: grade the combined 百分制.
                row.combined = combined_score(ruleset, row.score_total, team_parts)
                row.grade = row.combined.grade
            else:
                row.grade = grade(ruleset, row.score_total)
            row.score_note = exact_note(ruleset.grades, row.graded_score)
    names = [g.name for g in groups]
    return Evaluation(
        questionnaire=questionnaire,
        ruleset=ruleset,
        tally=tally,
        subjects=rows,
        groups_shown=[name for name in names if name in shown],
        groups_hidden=[name for name in names if name not in shown],
        team_total=total,
        team_parts=team_parts,
        overall_comments=sorted(overall_comments),
    )


def session_weights(groups: list[GroupSpec]) -> dict[str, Fraction]:
    """Return the session's rater-group weights when every group has one (else none)."""
    if not groups or any(group.weight is None for group in groups):
        return {}
    return {group.name: group.weight for group in groups}


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
    if not rated:
        return None
    votes = [
        SubjectVotes(
            row.spec.name,
            row.spec.role,
            {
                group: counts.vote_counts(tally.questionnaire)
                for group, counts in tally.by_group(row.spec.id, row.score_item).items()
            },
        )
        for row in rated
    ]
    if ruleset.rate_grades is not None:
        # Another scale's rate (称职以上率, 满意率) mapped onto its own band table.
        table = ruleset.rate_grades
        for row, subject_votes in zip(rated, votes, strict=True):
            row.rate = ruleset.rate_of(subject_votes.votes)
            if row.rate is not None:
                row.band = table.row_text(table.band_for(row.rate))
                row.grade = table.lookup(row.rate)
                row.rate_note = rounding_note(table, row.rate)
        return None
    if ruleset.team_points is None or ruleset.personal_deduction is None:
        return None
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
            row.rate_note = rounding_note(table, row.rate)
    return total


def _decimal(value) -> str | None:
    return None if value is None else format_decimal(value)


def subject_json(row: SubjectResult) -> dict:
    """Return one subject with the keys of `survey score --json`."""
    counts = row.counts
    return {
        "subject": row.spec.name,
        "category": row.spec.role.label,
        "valid": counts.valid if counts else 0,
        "good_or_better": row.good_or_better or 0,
        "rate": row.rate_fraction,
        "points": _decimal(row.points),
        "deduction": _decimal(row.deduction),
        "personal": _decimal(row.personal),
        "final": _decimal(row.final),
    }


def evaluate_sealed(sealed: dict, team_parts: dict[str, str]) -> Evaluation:
    """Recompute a session's results from an archive's sealed document alone."""
    facts = sealed["session"]
    subjects = [
        SubjectSpec(s["id"], s["name"], s["post"], SubjectRole(s["role"]))
        for s in facts["subjects"]
    ]
    groups = [
        GroupSpec(g["name"], g["expected"], parse_decimal(g["weight"]) if g.get("weight") else None)
        for g in facts["groups"]
    ]
    ballots = [
        StoredBallot(
            b["group"],
            {(s, i): v for s, i, v in b["ratings"]},
            {s: t for s, t in b["comments"]},
            b["overall_comment"],
        )
        for b in sealed["ballots"]
    ]
    ruleset = parse_ruleset(sealed["ruleset"]["content"], source="归档中的规则集")
    return evaluate(
        from_document(sealed["questionnaire"], source="归档中的测评表"),
        ruleset,
        subjects,
        groups,
        ballots,
        facts["min_group_size"],
        {key: parse_decimal(value) for key, value in team_parts.items()},
    )
