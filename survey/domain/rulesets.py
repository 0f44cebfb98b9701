"""Rule sets: versioned TOML files of band tables and weights, validated fully when loaded."""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from types import MappingProxyType

from .bands import BandTable, BandValue, BoundUnit, parse_bound, parse_number
from .errors import RuleFileError, RuleSetNotFound, ScoreInputError, os_error_text
from .numbers import format_decimal
from .roles import SubjectRole
from .rulefile import read_rule_file
from .votes import VoteCounts, weighted_rate

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
DEFAULT_RULESET_ID = "langfang-2014"

SURVEY_PART = "survey"

_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")
_PART_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")

_SECTIONS = {
    "ruleset",
    "team_points",
    "personal_deduction",
    "final_weights",
    "team_parts",
    "rater_group_weights",
    "grades",
    "combined",
    "rate_grades",
}
QUESTIONNAIRE_SOURCE = "questionnaire"
ENTERED_SOURCE = "entered"


@dataclass(frozen=True)
class FinalWeights:
    """Share of the personal score in a member's final score, per role; the team gets the rest."""

    principal: Fraction
    member: Fraction

    def personal_share(self, role: SubjectRole) -> Fraction:
        """Return the personal score's weight for a role."""
        if role is SubjectRole.PRINCIPAL:
            return self.principal
        if role is SubjectRole.MEMBER:
            return self.member
        raise ScoreInputError("领导班子没有个人得分权重")

    def formula(self, role: SubjectRole, scale: str = "十分制") -> str:
        """State a role's final in words; every principal (书记 and 县长 alike) gets the same."""
        share = self.personal_share(role)
        who = (
            "每一位主要负责人(书记、县长等,人数不限)"
            if role is SubjectRole.PRINCIPAL
            else "每一位其他班子成员"
        )
        return (
            f"{who}最终得分 = 个人得分 × {format_decimal(share * 100)}%"
            f" + 领导班子{scale}得分 × {format_decimal((1 - share) * 100)}%"
        )

    def formulas(self, scale: str = "十分制") -> list[str]:
        """Return the final of every role, principal first, then the team's rule."""
        return [
            self.formula(SubjectRole.PRINCIPAL, scale),
            self.formula(SubjectRole.MEMBER, scale),
            "领导班子不是个人:没有主要负责人的班子、只有班子成员的测评同样计分",
        ]


@dataclass(frozen=True)
class TeamPart:
    """One part of the team's 100 points, e.g. 作风建设 worth 15."""

    key: str
    name: str
    maximum: Fraction


@dataclass(frozen=True)
class TeamParts:
    """The parts of the team score, their total and the scale it is converted to."""

    parts: tuple[TeamPart, ...]
    total: Fraction
    scaled_total: Fraction

    def part(self, key: str) -> TeamPart:
        """Return the part with this key."""
        for part in self.parts:
            if part.key == key:
                return part
        raise KeyError(key)

    @property
    def other_maximum(self) -> Fraction:
        """Return the points available outside the 民主测评 part (80 in seed 002)."""
        return sum((p.maximum for p in self.parts if p.key != SURVEY_PART), Fraction(0))

    def to_scale(self, total: Fraction) -> Fraction:
        """Convert a team total to the member scale (100 → 10)."""
        return total * self.scaled_total / self.total


@dataclass(frozen=True)
class CombinedPart:
    """One part of a combined 百分制 score, e.g. 组织考评 50 % or 群众评议 (问卷) 50 %."""

    key: str
    name: str
    weight: Fraction
    source: str  # "questionnaire": the anonymous questionnaire's average; "entered": assessors

    @property
    def entered(self) -> bool:
        return self.source == ENTERED_SOURCE


@dataclass(frozen=True)
class Combined:
    """Seed 003 (三十五): 组织考评和群众评议相结合, 百分制; the grade is given on the sum."""

    title: str
    parts: tuple[CombinedPart, ...]
    full_score: Fraction

    @property
    def questionnaire_part(self) -> CombinedPart:
        return next(p for p in self.parts if p.source == QUESTIONNAIRE_SOURCE)

    @property
    def entered_parts(self) -> tuple[CombinedPart, ...]:
        return tuple(p for p in self.parts if p.entered)

    def describe(self) -> str:
        shares = " + ".join(f"{p.name} × {format_decimal(p.weight * 100)}%" for p in self.parts)
        return f"{self.title} = {shares}(各部分均为 {format_decimal(self.full_score)} 分制)"


@dataclass(frozen=True)
class RuleSet:
    """A versioned set of scoring rules, with the hash of the exact file it came from."""

    id: str
    version: str
    name: str
    basis: str
    source: str
    sha256: str
    content: bytes = field(repr=False)
    team_points: BandTable | None = None
    personal_deduction: BandTable | None = None
    personal_full_score: Fraction | None = None
    final_weights: FinalWeights | None = None
    team_parts: TeamParts | None = None
    rater_group_weights: Mapping[str, Fraction] | None = None
    grades: BandTable | None = None
    combined: Combined | None = None
    rate_grades: BandTable | None = None  # a rate (称职以上率, 满意率) → a label

    @property
    def entered_parts(self) -> tuple[TeamPart, ...]:
        """Return the parts the assessment team enters by hand, with their maxima."""
        if self.team_parts is not None:
            return tuple(p for p in self.team_parts.parts if p.key != SURVEY_PART)
        if self.combined is not None:
            full = self.combined.full_score
            return tuple(TeamPart(p.key, p.name, full) for p in self.combined.entered_parts)
        return ()

    @property
    def label(self) -> str:
        """Return "name(id 版本 version)" for reports."""
        return f"{self.name}({self.id} 版本 {self.version})"

    def rate_of(self, votes: VoteCounts | Mapping[str, VoteCounts]) -> Fraction | None:
        """Return the 较好以上率: weighted by rater group if the rules say so, else pooled."""
        if isinstance(votes, VoteCounts):
            if self.rater_group_weights:
                raise ScoreInputError("该规则集按参评人员类别加权,需要分类别的票数")
            return votes.rate
        if self.rater_group_weights:
            return weighted_rate(votes, self.rater_group_weights)
        return VoteCounts.pooled(votes.values()).rate

    def describe(self) -> str:
        """Print the rule set back as readable data."""
        lines = [self.label, f"SHA-256 {self.sha256}"]
        for table in (self.team_points, self.personal_deduction, self.grades, self.rate_grades):
            if table is not None:
                lines.append(table.describe())
        if self.final_weights is not None:
            lines.extend(self.final_weights.formulas())
        if self.team_parts is not None:
            parts = "、".join(
                f"{p.name} {format_decimal(p.maximum)}" for p in self.team_parts.parts
            )
            lines.append(
                f"领导班子:{parts},共 {format_decimal(self.team_parts.total)},"
                f"换算为 {format_decimal(self.team_parts.scaled_total)} 分制"
            )
        if self.combined is not None:
            lines.append(self.combined.describe())
        if self.rater_group_weights:
            groups = "、".join(
                f"{g} {format_decimal(w * 100)}%" for g, w in self.rater_group_weights.items()
            )
            lines.append(f"参评人员类别权重:{groups}")
        return "\n".join(lines)


def _percent_or_fail(raw: object, fail) -> Fraction:
    try:
        return parse_bound(raw, BoundUnit.PERCENT)
    except ValueError as exc:
        raise fail(str(exc)) from None


class _Parser:
    """Turn one decoded TOML document into a RuleSet, failing on the first defect."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(
        self, detail: str, section: str | None = None, row: int | str | None = None
    ) -> RuleFileError:
        return RuleFileError(self.source, detail, section=section, row=row)

    def table(
        self, data: Mapping[str, object], section: str, allowed: set[str], required: set[str]
    ) -> dict:
        body = data[section]
        if not isinstance(body, dict):
            raise self.fail("应为一个表([section])", section)
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise self.fail(f"未知的键 {'、'.join(unknown)}", section)
        missing = sorted(required - set(body))
        if missing:
            raise self.fail(f"缺少 {'、'.join(missing)}", section)
        return body

    def text(self, body: Mapping[str, object], key: str, section: str) -> str:
        value = body.get(key, "")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key} 应为非空字符串", section)
        return value.strip()

    def number(
        self, body: Mapping[str, object], key: str, section: str, row: int | str | None = None
    ) -> Fraction:
        try:
            return parse_number(body[key])
        except ValueError as exc:
            raise self.fail(f"{key} {exc}", section, row) from None

    def scored_table(self, data: Mapping[str, object], section: str) -> tuple[dict, Fraction]:
        """Read a table of bands out of a positive `full_score` (扣分, 考评等次)."""
        body = self.table(data, section, {"title", "full_score", "bands"}, {"full_score", "bands"})
        full = self.number(body, "full_score", section)
        if full <= 0:
            raise self.fail("full_score 应为正数", section)
        return body, full

    def bands(
        self,
        body: Mapping[str, object],
        section: str,
        unit: BoundUnit,
        parse_value,
        maximum: Fraction,
        title: str,
    ) -> BandTable:
        custom_title = body.get("title", title)
        if not isinstance(custom_title, str) or not custom_title.strip():
            raise self.fail("title 应为非空字符串", section)
        return BandTable.from_rows(
            body["bands"],  # type: ignore[arg-type]
            title=custom_title.strip(),
            unit=unit,
            parse_value=parse_value,
            maximum=maximum,
            source=self.source,
            section=section,
        )

    def parse(self, data: dict, content: bytes) -> RuleSet:
        unknown = sorted(set(data) - _SECTIONS)
        if unknown:
            raise self.fail(f"未知的部分 {'、'.join(unknown)}(可用:{'、'.join(sorted(_SECTIONS))})")
        if "ruleset" not in data:
            raise self.fail("缺少 [ruleset] 部分(id、version、name)")
        meta = self.table(
            data, "ruleset", {"id", "version", "name", "basis"}, {"id", "version", "name"}
        )
        ruleset_id = self.text(meta, "id", "ruleset")
        if not _ID_RE.fullmatch(ruleset_id):
            raise self.fail(
                f"id “{ruleset_id}” 只能用小写字母、数字、点、连字符和下划线", "ruleset"
            )
        raw_version = meta["version"]
        version = (
            str(raw_version)
            if isinstance(raw_version, int) and not isinstance(raw_version, bool)
            else raw_version
        )
        if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
            raise self.fail(f'version {raw_version!r} 应为如 "1"、"2024.1" 的字符串', "ruleset")
        tables: dict[str, object] = {}

        if "team_points" in data:
            body = self.table(data, "team_points", {"title", "bands"}, {"bands"})
            tables["team_points"] = self.bands(
                body,
                "team_points",
                BoundUnit.PERCENT,
                _non_negative,
                Fraction(1),
                "领导班子民主测评得分",
            )

        if "personal_deduction" in data:
            section = "personal_deduction"
            body, full = self.scored_table(data, section)

            def deduction(raw: object) -> BandValue:
                value = _non_negative(raw)
                if value > full:
                    raise ValueError(f"扣分 {raw} 超过满分 {body['full_score']}")
                return value

            tables["personal_deduction"] = self.bands(
                body, section, BoundUnit.PERCENT, deduction, Fraction(1), "个人民主测评扣分"
            )
            tables["personal_full_score"] = full

        if "final_weights" in data:
            tables["final_weights"] = self.final_weights(data)

        if "team_parts" in data:
            tables["team_parts"] = self.team_parts(data, tables.get("team_points"))
        elif "team_points" in data and "final_weights" in data:
            raise self.fail(
                "有 final_weights 时需要 [team_parts] 说明领导班子总分如何换算", "final_weights"
            )

        if "rater_group_weights" in data:
            tables["rater_group_weights"] = MappingProxyType(self.group_weights(data))

        if "grades" in data:
            body, full = self.scored_table(data, "grades")
            tables["grades"] = self.bands(
                body, "grades", BoundUnit.POINTS, _label, full, "考评等次"
            )

        if "rate_grades" in data:
            section = "rate_grades"
            body = self.table(data, section, {"title", "bands"}, {"bands"})
            tables["rate_grades"] = self.bands(
                body, section, BoundUnit.PERCENT, _label, Fraction(1), "评定"
            )

        if "combined" in data:
            if "grades" not in tables:
                raise self.fail("[combined] 需要 [grades] 给出等次", "combined")
            tables["combined"] = self.combined(data, tables["grades"].maximum)

        wanted = ("team_points", "personal_deduction", "grades", "rate_grades")
        if not any(key in tables for key in wanted):
            raise self.fail("至少需要 team_points、personal_deduction、grades、rate_grades 之一")
        return RuleSet(
            id=ruleset_id,
            version=version,
            name=self.text(meta, "name", "ruleset"),
            basis=str(meta.get("basis", "")).strip(),
            source=self.source,
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            **tables,  # type: ignore[arg-type]
        )

    def final_weights(self, data: dict) -> FinalWeights:
        section = "final_weights"
        body = self.table(data, section, {"principal", "member"}, {"principal", "member"})
        shares: dict[str, Fraction] = {}
        for role in ("principal", "member"):
            row = body[role]
            if not isinstance(row, dict) or set(row) != {"personal", "team"}:
                raise self.fail('应写成 { personal = "50%", team = "50%" }', section, role)

            def fail(detail: str, role: str = role) -> RuleFileError:
                return self.fail(detail, section, role)

            personal = _percent_or_fail(row["personal"], fail)
            team = _percent_or_fail(row["team"], fail)
            if not (0 <= personal <= 1 and 0 <= team <= 1):
                raise fail("权重应在 0%–100% 之间")
            if personal + team != 1:
                raise fail(f"个人 {row['personal']} 与领导班子 {row['team']} 之和不等于 100%")
            shares[role] = personal
        return FinalWeights(principal=shares["principal"], member=shares["member"])

    def team_parts(self, data: dict, team_points: BandTable | None) -> TeamParts:
        section = "team_parts"
        body = self.table(
            data, section, {"total", "scaled_total", "parts"}, {"total", "scaled_total", "parts"}
        )
        total = self.number(body, "total", section)
        scaled = self.number(body, "scaled_total", section)
        if total <= 0 or scaled <= 0:
            raise self.fail("total 与 scaled_total 应为正数", section)
        ratio = scaled / total
        if not _terminates(ratio):
            # 30 → 10 divides by 3: a team total of 25 would be 8.333…, which no report can
            # print exactly; refuse now rather than round silently later.
            raise self.fail(
                f"换算比例 scaled_total ÷ total = {_show(scaled)} ÷ {_show(total)} "
                f"= {ratio.numerator}/{ratio.denominator} 不是有限小数:换算后的得分无法精确写成"
                "小数。请使该比例为有限小数(如 100 换算为 10)",
                section,
            )
        rows = body["parts"]
        if not isinstance(rows, list) or not rows:
            raise self.fail("parts 应为非空数组", section)
        parts: list[TeamPart] = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or set(row) != {"key", "name", "max"}:
                raise self.fail("每一项应写成 { key = …, name = …, max = … }", section, number)
            key = row["key"]
            if not isinstance(key, str) or not _PART_KEY_RE.fullmatch(key):
                raise self.fail(f'key {key!r} 应为小写英文标识,如 "conduct"', section, number)
            if any(part.key == key for part in parts):
                raise self.fail(f"key “{key}” 重复", section, number)
            name = row["name"]
            if not isinstance(name, str) or not name.strip():
                raise self.fail("name 应为非空字符串", section, number)
            maximum = self.number(row, "max", section, number)
            if maximum <= 0:
                raise self.fail("max 应为正数", section, number)
            parts.append(TeamPart(key, name.strip(), maximum))
        parts_sum = sum((part.maximum for part in parts), Fraction(0))
        if parts_sum != total:
            raise self.fail(
                f"第1–{len(parts)}行 各项满分之和 {_show(parts_sum)} 不等于 total {_show(total)}",
                section,
            )
        if team_points is not None:
            survey = next((part for part in parts if part.key == SURVEY_PART), None)
            if survey is None:
                raise self.fail(f'缺少 key = "{SURVEY_PART}" 的民主测评项', section)
            top = max(band.value for band in team_points.bands)  # type: ignore[type-var]
            if top > survey.maximum:
                raise self.fail(
                    f"民主测评得分最高 {_show(top)} 超过该项满分 {_show(survey.maximum)}", section
                )
        return TeamParts(parts=tuple(parts), total=total, scaled_total=scaled)

    def combined(self, data: dict, full_score: Fraction) -> Combined:
        section = "combined"
        body = self.table(data, section, {"title", "parts"}, {"parts"})
        title = body.get("title", "综合得分")
        if not isinstance(title, str) or not title.strip():
            raise self.fail("title 应为非空字符串", section)
        rows = body["parts"]
        if not isinstance(rows, list) or not rows:
            raise self.fail("parts 应为非空数组", section)
        parts: list[CombinedPart] = []
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or set(row) != {"key", "name", "weight", "source"}:
                raise self.fail(
                    '每一部分应写成 { key = …, name = …, weight = "50%", source = "entered" }',
                    section,
                    number,
                )
            key, name, source = row["key"], row["name"], row["source"]
            if not isinstance(key, str) or not _PART_KEY_RE.fullmatch(key):
                raise self.fail(f"key {key!r} 应为小写英文标识", section, number)
            if any(part.key == key for part in parts):
                raise self.fail(f"key “{key}” 重复", section, number)
            if not isinstance(name, str) or not name.strip():
                raise self.fail("name 应为非空字符串", section, number)
            if source not in (QUESTIONNAIRE_SOURCE, ENTERED_SOURCE):
                raise self.fail('source 应为 "questionnaire" 或 "entered"', section, number)

            def fail(detail: str, number: int = number) -> RuleFileError:
                return self.fail(f"weight {detail}", section, number)

            weight = _percent_or_fail(row["weight"], fail)
            if not 0 < weight <= 1:
                raise fail("权重应在 0%(不含)到 100% 之间")
            parts.append(CombinedPart(key, name.strip(), weight, source))
        if sum(1 for p in parts if p.source == QUESTIONNAIRE_SOURCE) != 1:
            raise self.fail('应恰有一部分 source = "questionnaire"(问卷的群众评议)', section)
        weight_sum = sum((p.weight for p in parts), Fraction(0))
        if weight_sum != 1:
            raise self.fail(f"权重之和为 {_show(weight_sum * 100)}%,应恰好为 100%", section)
        return Combined(title.strip(), tuple(parts), full_score)

    def group_weights(self, data: dict) -> dict[str, Fraction]:
        section = "rater_group_weights"
        body = self.table(data, section, {"groups"}, {"groups"})
        rows = body["groups"]
        if not isinstance(rows, list) or not rows:
            raise self.fail("groups 应为非空数组", section)
        weights: dict[str, Fraction] = {}
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict) or set(row) != {"group", "weight"}:
                raise self.fail(
                    '每一类应写成 { group = "中层干部", weight = "40%" }', section, number
                )
            group = row["group"]
            if not isinstance(group, str) or not group.strip():
                raise self.fail("group 应为非空字符串", section, number)
            if group.strip() in weights:
                raise self.fail(f"参评人员类别 “{group}” 重复", section, number)

            def fail(detail: str, number: int = number) -> RuleFileError:
                return self.fail(f"weight {detail}", section, number)

            weight = _percent_or_fail(row["weight"], fail)
            if weight <= 0:
                raise fail("权重应大于 0%")
            weights[group.strip()] = weight
        weight_sum = sum(weights.values(), Fraction(0))
        if weight_sum != 1:
            raise self.fail(
                f"第1–{len(rows)}行 权重之和为 {_show(weight_sum * 100)}%,应恰好为 100%", section
            )
        return weights


def _terminates(value: Fraction) -> bool:
    """Tell whether a fraction has a finite decimal expansion (its denominator is 2^a 5^b)."""
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def _show(value: Fraction) -> str:
    try:
        return format_decimal(value)
    except ValueError:
        return str(value)


def _non_negative(raw: object) -> BandValue:
    value = parse_number(raw)
    if value < 0:
        raise ValueError(f"{raw} 不能为负数")
    return value


def _label(raw: object) -> BandValue:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{raw!r} 应为非空的等次名称")
    return raw.strip()


def parse_ruleset(text: str | bytes, source: str) -> RuleSet:
    """Parse and fully validate a rule set; raise RuleFileError naming source and row.

    The SHA-256 is taken over the exact bytes (a str is hashed as its UTF-8 encoding).
    """
    content, data = read_rule_file(text, source)
    return _Parser(source).parse(data, content)


def load_ruleset(path: str | Path) -> RuleSet:
    """Read and validate a rule-set file."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(str(path), f"无法读取文件:{os_error_text(exc)}") from None
    return parse_ruleset(content, str(path))


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    # ASCII digits only: "²" passes isdigit() but not int().
    return tuple(
        (0, int(p)) if p.isascii() and p.isdigit() and len(p) < 19 else (1, p)
        for p in re.split(r"[._-]", version)
    )


@cache
def shipped_rulesets() -> tuple[RuleSet, ...]:
    """Return every rule set shipped in survey/rules/, sorted by id then version."""
    found: dict[tuple[str, str], RuleSet] = {}
    for path in sorted(RULES_DIR.glob("*.toml")):
        ruleset = load_ruleset(path)
        key = (ruleset.id, ruleset.version)
        if key in found:
            raise RuleFileError(
                str(path), f"规则集 {ruleset.id} 版本 {ruleset.version} 与 {found[key].source} 重复"
            )
        found[key] = ruleset
    return tuple(sorted(found.values(), key=lambda r: (r.id, version_key(r.version))))


def get_shipped(ruleset_id: str, version: str | None = None) -> RuleSet:
    """Return a shipped rule set by id and version; without a version, the latest one."""
    candidates = [r for r in shipped_rulesets() if r.id == ruleset_id]
    if version is not None:
        candidates = [r for r in candidates if r.version == version]
    if not candidates:
        known = "、".join(f"{r.id}:{r.version}" for r in shipped_rulesets())
        wanted = ruleset_id if version is None else f"{ruleset_id}:{version}"
        raise RuleSetNotFound(f"找不到规则集 {wanted}(已有:{known})")
    return candidates[-1]
