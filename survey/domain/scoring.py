"""Turn rates into points, deductions, team totals and final scores under a rule set."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .errors import ScoreInputError
from .numbers import Exact, exact, format_decimal
from .roles import SubjectRole
from .rulesets import SURVEY_PART, RuleSet, TeamParts
from .votes import VoteCounts


def _require(ruleset: RuleSet, attribute: str, title: str):
    value = getattr(ruleset, attribute)
    if value is None:
        raise ScoreInputError(f"规则集 {ruleset.id}:{ruleset.version} 没有{title}")
    return value


def team_points(ruleset: RuleSet, rate: Exact | None) -> Fraction | None:
    """Return the team's 民主测评 points for a rate; None when there is no rate."""
    if rate is None:
        return None
    table = _require(ruleset, "team_points", "领导班子民主测评得分分档")
    return table.lookup(rate)


def personal_deduction(ruleset: RuleSet, rate: Exact | None) -> Fraction | None:
    """Return a member's deduction for a rate; None when there is no rate."""
    if rate is None:
        return None
    table = _require(ruleset, "personal_deduction", "个人民主测评扣分分档")
    return table.lookup(rate)


def personal_score(ruleset: RuleSet, rate: Exact | None) -> Fraction | None:
    """Return the personal part: full score (10) minus the deduction; None without a rate."""
    deduction = personal_deduction(ruleset, rate)
    if deduction is None:
        return None
    return ruleset.personal_full_score - deduction


def final_score(
    ruleset: RuleSet, role: SubjectRole, personal: Exact, team_scaled: Exact
) -> Fraction:
    """Return a member's final score: w × personal + (1 − w) × team score on the 10-point scale."""
    weights = _require(ruleset, "final_weights", "最终得分权重")
    share = weights.personal_share(role)
    return share * exact(personal) + (1 - share) * exact(team_scaled)


def grade(ruleset: RuleSet, score: Exact) -> str:
    """Return the grade (优异 / 良好 / 合格 / 不合格 in seed 003) for a score."""
    table = _require(ruleset, "grades", "考评等次分档")
    return table.lookup(score)


@dataclass(frozen=True)
class CombinedScore:
    """A combined 百分制 score with each part labelled; total None until every part is in."""

    parts: tuple[tuple[str, Fraction, Fraction | None], ...]  # (name, weight, score or None)
    total: Fraction | None
    grade: str | None

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name, _, score in self.parts if score is None)


def combined_score(
    ruleset: RuleSet, questionnaire_score: Exact | None, entered: Mapping[str, Exact]
) -> CombinedScore:
    """Weigh the questionnaire (群众评议) with the entered parts (组织考评); grade the sum.

    Seed 003 (三十五)/(三十六): 组织考评和群众评议相结合, 百分制; the grade is on that score.
    """
    spec = _require(ruleset, "combined", "综合得分的组成")
    rows: list[tuple[str, Fraction, Fraction | None]] = []
    for part in spec.parts:
        raw = questionnaire_score if not part.entered else entered.get(part.key)
        value = None if raw is None else exact(raw)
        if value is not None and not 0 <= value <= spec.full_score:
            raise ScoreInputError(
                f"“{part.name}”得分 {format_decimal(value)} "
                f"应在 0 到 {format_decimal(spec.full_score)} 之间"
            )
        rows.append((part.name, part.weight, value))
    if any(score is None for _, _, score in rows):
        return CombinedScore(tuple(rows), None, None)
    total = sum((weight * score for _, weight, score in rows), Fraction(0))
    return CombinedScore(tuple(rows), total, grade(ruleset, total))


@dataclass(frozen=True)
class PartScore:
    """Points one team part counts for, after capping at its maximum."""

    key: str
    name: str
    maximum: Fraction
    entered: Fraction
    counted: Fraction

    @property
    def capped(self) -> bool:
        """Tell whether the entered points exceeded the maximum and were cut."""
        return self.entered > self.counted


@dataclass(frozen=True)
class TeamTotal:
    """The team's total out of 100 and on the member scale (÷ 10)."""

    parts: tuple[PartScore, ...]
    total: Fraction
    scaled: Fraction

    @property
    def capped_parts(self) -> tuple[PartScore, ...]:
        """Return the parts whose entered points were capped, to report them."""
        return tuple(part for part in self.parts if part.capped)


def _team_parts(ruleset: RuleSet) -> TeamParts:
    return _require(ruleset, "team_parts", "领导班子考核项目")


def team_total(
    ruleset: RuleSet, survey_points: Exact, other_parts: Mapping[str, Exact]
) -> TeamTotal:
    """Add the 民主测评 points to the assessor's other parts, capping each part at its maximum.

    other_parts maps every non-survey part key (e.g. "conduct") to its points; a missing or
    unknown key or a negative value raises ScoreInputError.
    """
    spec = _team_parts(ruleset)
    entered = {SURVEY_PART: exact(survey_points), **{k: exact(v) for k, v in other_parts.items()}}
    if SURVEY_PART in other_parts:
        raise ScoreInputError("民主测评得分由测评结果计算,不能在其他项目中录入")
    known = {part.key for part in spec.parts}
    unknown = sorted(set(entered) - known)
    if unknown:
        raise ScoreInputError(f"未知的考核项目 {'、'.join(unknown)}")
    scores: list[PartScore] = []
    for part in spec.parts:
        if part.key not in entered:
            raise ScoreInputError(f"缺少“{part.name}”的得分")
        value = entered[part.key]
        if value < 0:
            raise ScoreInputError(f"“{part.name}”得分 {format_decimal(value)} 不能为负数")
        scores.append(PartScore(part.key, part.name, part.maximum, value, min(value, part.maximum)))
    total = sum((score.counted for score in scores), Fraction(0))
    return TeamTotal(parts=tuple(scores), total=total, scaled=spec.to_scale(total))


def team_total_from_other(ruleset: RuleSet, survey_points: Exact, other_points: Exact) -> TeamTotal:
    """Add the 民主测评 points to the other parts given as one sum (0–80 in seed 002).

    A sum outside 0..(total − 民主测评 maximum) raises ScoreInputError rather than being capped,
    because a single sum cannot tell which part overflowed.
    """
    spec = _team_parts(ruleset)
    other = exact(other_points)
    if not 0 <= other <= spec.other_maximum:
        raise ScoreInputError(
            f"其他考核项目得分 {format_decimal(other)} "
            f"应在 0 到 {format_decimal(spec.other_maximum)} 之间"
        )
    survey = spec.part(SURVEY_PART)
    points = exact(survey_points)
    if not 0 <= points <= survey.maximum:
        raise ScoreInputError(
            f"民主测评得分 {format_decimal(points)} 应在 0 到 {format_decimal(survey.maximum)} 之间"
        )
    parts = (
        PartScore(survey.key, survey.name, survey.maximum, points, points),
        PartScore("other", "其他考核项目合计", spec.other_maximum, other, other),
    )
    total = points + other
    return TeamTotal(parts=parts, total=total, scaled=spec.to_scale(total))


@dataclass(frozen=True)
class SubjectVotes:
    """Votes for one subject: pooled counts, or counts per rater group."""

    subject: str
    role: SubjectRole
    votes: VoteCounts | Mapping[str, VoteCounts]

    @property
    def counts(self) -> VoteCounts:
        """Return all votes pooled over rater groups."""
        if isinstance(self.votes, VoteCounts):
            return self.votes
        return VoteCounts.pooled(self.votes.values())


@dataclass(frozen=True)
class SubjectResult:
    """Everything a report prints for one subject."""

    subject: str
    role: SubjectRole
    counts: VoteCounts
    rate: Fraction | None
    points: Fraction | None
    deduction: Fraction | None
    personal: Fraction | None
    final: Fraction | None


def score_meeting(
    ruleset: RuleSet, subjects: Sequence[SubjectVotes], team_other: Exact | None = None
) -> list[SubjectResult]:
    """Score every subject of one meeting; finals only when the team's other points are given.

    The team's final is its total on the 10-point scale; a member's final weighs the personal
    score against that. At most one team subject is allowed; finals need exactly one.
    """
    teams = [s for s in subjects if s.role is SubjectRole.TEAM]
    if len(teams) > 1:
        raise ScoreInputError("一次测评只能有一个领导班子")
    team_scaled: Fraction | None = None
    team_final: Fraction | None = None
    if team_other is not None:
        if not teams:
            raise ScoreInputError("没有领导班子,无法计算最终得分")
        points = team_points(ruleset, ruleset.rate_of(teams[0].votes))
        if points is not None:
            team_final = team_scaled = team_total_from_other(ruleset, points, team_other).scaled
    results: list[SubjectResult] = []
    for item in subjects:
        rate = ruleset.rate_of(item.votes)
        # The team is scored in points; a member by deduction and a personal score.
        points = deduction = personal = None
        if item.role is SubjectRole.TEAM:
            points, final = team_points(ruleset, rate), team_final
        else:
            deduction = personal_deduction(ruleset, rate)
            personal = personal_score(ruleset, rate)
            final = None
            if personal is not None and team_scaled is not None:
                final = final_score(ruleset, item.role, personal, team_scaled)
        results.append(
            SubjectResult(
                item.subject,
                item.role,
                item.counts,
                rate,
                points=points,
                deduction=deduction,
                personal=personal,
                final=final,
            )
        )
    return results
