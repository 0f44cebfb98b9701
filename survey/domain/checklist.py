"""The assessment checklist (考核细则): facts entered by assessors → points with explanations.

A checklist is a versioned TOML file (survey/rules/checklists/) listing, per part of the team's
100 points (作风建设, 惩治腐败, …), the items of seed 002 with their points, caps,
per-occurrence deductions, bonuses, the one-vote veto and the items ranked across all units
of a season. Assessors enter facts (counts, yes/no, numbers), never points: `score_units`
computes every unit's points in exact fractions and says, line by line, how each was reached.
A part never goes below 0 nor above its maximum.
"""

import hashlib
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from functools import cache
from pathlib import Path

from .bands import parse_number
from .errors import RuleFileError, RuleSetNotFound, ScoreInputError
from .numbers import format_decimal, format_fixed, format_percent, parse_decimal
from .rulefile import read_rule_file

CHECKLISTS_DIR = Path(__file__).resolve().parent.parent / "rules" / "checklists"
PER_10000 = 10000

_KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")
_YES = {"yes", "是", "1", "true", "y"}
_NO = {"no", "否", "0", "false", "n"}

FactValue = bool | int | Fraction


class ChecklistInputError(ScoreInputError):
    """Facts that do not fit the checklist (not a number, negative, above a limit …)."""


class FactKind(StrEnum):
    YES_NO = "yes_no"
    COUNT = "count"
    NUMBER = "number"


class Rule(StrEnum):
    AWARD = "award"  # yes → points
    FORFEIT = "forfeit"  # points, lost entirely when the fact is yes
    DEDUCT = "deduct"  # yes → −points
    QUOTA = "quota"  # target or more → points; each one short → −per_missing, down to 0
    EACH = "each"  # each occurrence ± |each|, at most cap in total
    RANK = "rank"  # place among the season's units → first − step × (place − 1), down to 0
    VETO = "veto"  # yes → the whole part scores 0


_RULE_FACT_KIND = {
    Rule.AWARD: {FactKind.YES_NO},
    Rule.FORFEIT: {FactKind.YES_NO},
    Rule.DEDUCT: {FactKind.YES_NO},
    Rule.VETO: {FactKind.YES_NO},
    Rule.QUOTA: {FactKind.COUNT},
    Rule.EACH: {FactKind.COUNT},
    Rule.RANK: {FactKind.COUNT, FactKind.NUMBER},
}
_RULE_KEYS = {
    Rule.AWARD: {"points"},
    Rule.FORFEIT: {"points"},
    Rule.DEDUCT: {"points"},
    Rule.VETO: set(),
    Rule.QUOTA: {"points", "target", "per_missing"},
    Rule.EACH: {"each"},
    Rule.RANK: {"order", "first", "step"},
}
_RULE_OPTIONAL = {
    Rule.EACH: {"cap", "deductions"},
    Rule.DEDUCT: {"deductions"},
    Rule.RANK: {"per_10000", "of"},
}
# Rules whose points belong to the item itself: a clause with one of them has "its own points".
_OWN_POINTS = (Rule.AWARD, Rule.QUOTA, Rule.FORFEIT)


class DeductionLimit(StrEnum):
    """How far an item's deductions may go.

    ITEM: they stop at what the clause's own points earned (seed 002 预防 (8) "最多扣1分" states
    it for one part; an item "2分" cannot lose more than its 2 points). PART: they come off the
    whole part, down to its floor of 0 (作风 (5) "1起扣1分" belongs to no item with points).
    """

    ITEM = "item"
    PART = "part"


_ITEM_COMMON = {"clause", "name", "rule", "fact"}


@dataclass(frozen=True)
class Fact:
    """One thing the assessors enter for a unit."""

    key: str
    label: str
    kind: FactKind
    unit: str = ""
    maximum: int | None = None
    not_above: str | None = None


@dataclass(frozen=True)
class Item:
    """One scoring line of a part, tied to one fact (a ratio rank also reads `of`)."""

    part: str
    clause: str
    name: str
    rule: Rule
    fact: str
    points: Fraction = Fraction(0)
    target: int = 0
    per_missing: Fraction = Fraction(0)
    each: Fraction = Fraction(0)
    cap: Fraction | None = None
    order: str = "high"
    first: Fraction = Fraction(0)
    step: Fraction = Fraction(0)
    per_10000: bool = False
    of: str | None = None
    deductions: DeductionLimit | None = None  # set on deduction items only
    deductions_stated: bool = False  # written in the file, not the default

    @property
    def facts(self) -> tuple[str, ...]:
        return (self.fact, self.of) if self.of else (self.fact,)

    @property
    def deducts(self) -> bool:
        """Tell whether this item takes points away."""
        return self.rule is Rule.DEDUCT or (self.rule is Rule.EACH and self.each < 0)

    @property
    def has_own_points(self) -> bool:
        return self.rule in _OWN_POINTS

    @property
    def limit_text(self) -> str:
        """Say in Chinese how far this item's deductions go (empty for non-deduction items)."""
        if self.deductions is DeductionLimit.ITEM:
            return f"扣分以本项{self.clause}所得分为限"
        if self.deductions is DeductionLimit.PART:
            return "扣分从本方面得分中扣除，本方面最低0分"
        return ""


@dataclass(frozen=True)
class Part:
    key: str
    name: str
    maximum: Fraction
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    """A versioned checklist, with the SHA-256 of the exact file it came from."""

    id: str
    version: str
    name: str
    basis: str
    ruleset: str
    ruleset_version: str
    facts: Mapping[str, Fact]
    parts: tuple[Part, ...]
    source: str
    sha256: str
    content: bytes = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.name}（{self.id} 版本 {self.version}）"

    @property
    def needs_population(self) -> bool:
        return any(item.per_10000 for part in self.parts for item in part.items)

    def part(self, key: str) -> Part:
        for part in self.parts:
            if part.key == key:
                return part
        raise KeyError(key)

    def facts_of(self, part: Part) -> list[Fact]:
        """Return the facts a part's items read, in the order they first appear."""
        keys = dict.fromkeys(key for item in part.items for key in item.facts)
        return [self.facts[key] for key in keys]


# ---- loading ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, detail: str, section: str | None = None, row: int | str | None = None):
        return RuleFileError(self.source, detail, section=section, row=row)

    def text(self, body: Mapping, key: str, section: str, row=None) -> str:
        value = body.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key} 应为非空字符串", section, row)
        return value.strip()

    def number(self, body: Mapping, key: str, section: str, row=None) -> Fraction:
        try:
            return parse_number(body[key])
        except KeyError:
            raise self.fail(f"缺少 {key}", section, row) from None
        except ValueError as exc:
            raise self.fail(f"{key} {exc}", section, row) from None

    def integer(self, body: Mapping, key: str, section: str, row=None) -> int:
        value = body.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(f"{key} 应为非负整数", section, row)
        return value

    def parse(self, data: dict, content: bytes) -> Checklist:
        unknown = sorted(set(data) - {"checklist", "facts", "parts"})
        if unknown:
            raise self.fail(f"未知的部分 {'、'.join(unknown)}")
        meta = data.get("checklist")
        if not isinstance(meta, dict):
            raise self.fail("缺少 [checklist] 部分")
        allowed = {"id", "version", "name", "basis", "ruleset", "ruleset_version"}
        if set(meta) - allowed:
            raise self.fail(f"未知的键 {'、'.join(sorted(set(meta) - allowed))}", "checklist")
        checklist_id = self.text(meta, "id", "checklist")
        version = str(meta.get("version", ""))
        if not _ID_RE.fullmatch(checklist_id):
            raise self.fail("id 只能用小写字母、数字、点、连字符和下划线", "checklist")
        if not _VERSION_RE.fullmatch(version):
            raise self.fail('version 应为如 "1"、"2024.1" 的字符串', "checklist")
        facts = self.facts(data.get("facts"))
        parts = self.parts(data.get("parts"), facts)
        used = {key for part in parts for item in part.items for key in item.facts}
        unused = [key for key in facts if key not in used]
        if unused:
            raise self.fail(f"事实 {'、'.join(unused)} 没有被任何项目使用", "facts")
        return Checklist(
            id=checklist_id,
            version=version,
            name=self.text(meta, "name", "checklist"),
            basis=str(meta.get("basis", "")).strip(),
            ruleset=self.text(meta, "ruleset", "checklist"),
            ruleset_version=str(meta.get("ruleset_version", "")).strip(),
            facts=facts,
            parts=parts,
            source=self.source,
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )

    def facts(self, body) -> dict[str, Fact]:
        if not isinstance(body, dict) or not body:
            raise self.fail("[facts] 应列出至少一个事实", "facts")
        facts: dict[str, Fact] = {}
        for key, row in body.items():
            if not _KEY_RE.fullmatch(key) or not isinstance(row, dict):
                raise self.fail("应写成 key = { label = …, type = … }", "facts", key)
            extra = set(row) - {"label", "type", "unit", "max", "not_above"}
            if extra:
                raise self.fail(f"未知的键 {'、'.join(sorted(extra))}", "facts", key)
            try:
                kind = FactKind(row.get("type"))
            except ValueError:
                raise self.fail("type 应为 yes_no、count 或 number", "facts", key) from None
            maximum = self.integer(row, "max", "facts", key) if "max" in row else None
            not_above = row.get("not_above")
            if not_above is not None and not_above not in facts:
                raise self.fail("not_above 应指向前面已列出的事实", "facts", key)
            facts[key] = Fact(
                key=key,
                label=self.text(row, "label", "facts", key),
                kind=kind,
                unit=str(row.get("unit", "")),
                maximum=maximum,
                not_above=not_above,
            )
        return facts

    def parts(self, rows, facts: Mapping[str, Fact]) -> tuple[Part, ...]:
        if not isinstance(rows, list) or not rows:
            raise self.fail("应有至少一个 [[parts]]", "parts")
        parts: list[Part] = []
        for number, row in enumerate(rows, 1):
            if not isinstance(row, dict) or set(row) - {"key", "name", "max", "items"}:
                raise self.fail("每个部分只能有 key、name、max、items", "parts", number)
            key = row.get("key")
            if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
                raise self.fail("key 应为小写英文标识", "parts", number)
            if any(part.key == key for part in parts):
                raise self.fail(f"key “{key}” 重复", "parts", number)
            maximum = self.number(row, "max", "parts", number)
            if maximum <= 0:
                raise self.fail("max 应为正数", "parts", number)
            items = tuple(
                self.item(key, item, facts, f"{key} 第{index}项")
                for index, item in enumerate(row.get("items") or [], 1)
            )
            if not items:
                raise self.fail("没有任何项目", "parts", number)
            items = self.deduction_limits(key, items)
            parts.append(Part(key, self.text(row, "name", "parts", number), maximum, items))
        return tuple(parts)

    def deduction_limits(self, part: str, items: tuple[Item, ...]) -> tuple[Item, ...]:
        """Settle how far each deduction item goes; by default, to its clause's own points."""
        own = {item.clause for item in items if item.has_own_points}
        settled = []
        for index, item in enumerate(items, 1):
            if not item.deducts:
                if item.deductions is not None:
                    raise self.fail("deductions 只能用于扣分项", "parts", f"{part} 第{index}项")
                settled.append(item)
                continue
            limit = item.deductions
            if limit is None:
                limit = DeductionLimit.ITEM if item.clause in own else DeductionLimit.PART
            elif limit is DeductionLimit.ITEM and item.clause not in own:
                raise self.fail(
                    f'deductions = "item",但{item.clause}没有本项分值(award、quota 或 forfeit)',
                    "parts",
                    f"{part} 第{index}项",
                )
            settled.append(replace(item, deductions=limit))
        return tuple(settled)

    def item(self, part: str, row, facts: Mapping[str, Fact], where: str) -> Item:
        if not isinstance(row, dict):
            raise self.fail("应为一个表", "parts", where)
        try:
            rule = Rule(row.get("rule"))
        except ValueError:
            names = "、".join(r.value for r in Rule)
            raise self.fail(f"rule 应为 {names} 之一", "parts", where) from None
        allowed = _ITEM_COMMON | _RULE_KEYS[rule] | _RULE_OPTIONAL.get(rule, set())
        if set(row) - allowed:
            raise self.fail(f"未知的键 {'、'.join(sorted(set(row) - allowed))}", "parts", where)
        missing = (_ITEM_COMMON | _RULE_KEYS[rule]) - set(row)
        if missing:
            raise self.fail(f"缺少 {'、'.join(sorted(missing))}", "parts", where)
        fact = facts.get(row["fact"])
        if fact is None:
            raise self.fail(f"事实 {row['fact']} 未在 [facts] 中列出", "parts", where)
        if fact.kind not in _RULE_FACT_KIND[rule]:
            raise self.fail(f"{rule} 不能用 {fact.kind} 类型的事实", "parts", where)
        values: dict = {}
        for key in ("points", "per_missing", "first", "step", "each"):
            if key in row:
                values[key] = self.number(row, key, "parts", where)
                if key != "each" and values[key] < 0:
                    raise self.fail(f"{key} 不能为负数", "parts", where)
        if rule is Rule.EACH and values["each"] == 0:
            raise self.fail("each 不能为 0", "parts", where)
        if "cap" in row:
            values["cap"] = self.number(row, "cap", "parts", where)
            if values["cap"] <= 0:
                raise self.fail("cap 应为正数", "parts", where)
        if rule is Rule.QUOTA:
            values["target"] = self.integer(row, "target", "parts", where)
            if values["target"] < 1:
                raise self.fail("target 应至少为 1", "parts", where)
        if "deductions" in row:
            try:
                values["deductions"] = DeductionLimit(row["deductions"])
            except ValueError:
                raise self.fail('deductions 应为 "item" 或 "part"', "parts", where) from None
            values["deductions_stated"] = True
        if rule is Rule.RANK:
            if row["order"] not in ("low", "high"):
                raise self.fail('order 应为 "low" 或 "high"', "parts", where)
            values["order"] = row["order"]
            values["per_10000"] = row.get("per_10000", False) is True
            if "of" in row:
                if row["of"] not in facts or facts[row["of"]].kind is FactKind.YES_NO:
                    raise self.fail("of 应指向一个数值事实", "parts", where)
                values["of"] = row["of"]
        return Item(
            part=part,
            clause=str(row["clause"]),
            name=self.text(row, "name", "parts", where),
            rule=rule,
            fact=fact.key,
            **values,
        )


def parse_checklist(text: str | bytes, source: str) -> Checklist:
    """Parse and fully validate a checklist; the SHA-256 is over the exact bytes."""
    content, data = read_rule_file(text, source)
    return _Parser(source).parse(data, content)


def load_checklist(path: str | Path) -> Checklist:
    path = Path(path)
    return parse_checklist(path.read_bytes(), str(path))


@cache
def shipped_checklists() -> tuple[Checklist, ...]:
    """Return every checklist shipped in survey/rules/checklists/, sorted by id and version."""
    found = [load_checklist(path) for path in sorted(CHECKLISTS_DIR.glob("*.toml"))]
    return tuple(sorted(found, key=lambda c: (c.id, c.version)))


def get_checklist(checklist_id: str, version: str | None = None) -> Checklist:
    """Return a shipped checklist; without a version, the latest one."""
    candidates = [c for c in shipped_checklists() if c.id == checklist_id]
    if version is not None:
        candidates = [c for c in candidates if c.version == version]
    if not candidates:
        wanted = checklist_id if version is None else f"{checklist_id}:{version}"
        raise RuleSetNotFound(f"找不到考核细则 {wanted}")
    return candidates[-1]


# ---- facts --------------------------------------------------------------------------------


def parse_facts(checklist: Checklist, raw: Mapping[str, str]) -> dict[str, FactValue]:
    """Check entered facts; a blank one is simply not entered yet. Raise on the first error."""
    facts: dict[str, FactValue] = {}
    unknown = sorted(set(raw) - set(checklist.facts))
    if unknown:
        raise ChecklistInputError(f"未知的考核事实 {'、'.join(unknown)}")
    for key, fact in checklist.facts.items():
        text = str(raw.get(key) or "").strip()
        if not text:
            continue
        facts[key] = _parse_fact(fact, text)
    for key, fact in checklist.facts.items():
        limit = fact.not_above
        if limit and key in facts and limit in facts and facts[key] > facts[limit]:
            other = checklist.facts[limit]
            raise ChecklistInputError(f"“{fact.label}”不能大于“{other.label}”。")
    return facts


def _parse_fact(fact: Fact, text: str) -> FactValue:
    if fact.kind is FactKind.YES_NO:
        lowered = text.lower()
        if lowered in _YES:
            return True
        if lowered in _NO:
            return False
        raise ChecklistInputError(f"“{fact.label}”应填“是”或“否”。")
    try:
        value = parse_decimal(text)
    except ValueError:
        raise ChecklistInputError(f"“{fact.label}”应填数字，收到“{text}”。") from None
    if value < 0:
        raise ChecklistInputError(f"“{fact.label}”不能为负数。")
    if fact.kind is FactKind.NUMBER:
        return value
    if value.denominator != 1:
        raise ChecklistInputError(f"“{fact.label}”应为整数。")
    if fact.maximum is not None and value > fact.maximum:
        raise ChecklistInputError(f"“{fact.label}”最多为 {fact.maximum}。")
    return int(value)


def fact_text(value: FactValue) -> str:
    """Return a fact as the canonical string stored and shown back in the form."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format_decimal(value)


# ---- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitInput:
    """One unit's entered facts and its population (for the per-10,000 items)."""

    facts: Mapping[str, FactValue]
    population: int | None = None


@dataclass(frozen=True)
class LineResult:
    """One item's points for one unit, with the sentence that explains them."""

    item: Item
    points: Fraction | None  # None: a fact is missing
    text: str
    place: int | None = None
    waiting_for: tuple = ()  # units whose facts for this rank item are not in yet (暂定)


@dataclass(frozen=True)
class PartResult:
    part: Part
    lines: tuple[LineResult, ...]
    subtotal: Fraction | None  # the sum of the lines, before the floor and the maximum
    points: Fraction | None
    vetoed: bool
    note: str

    @property
    def explanation(self) -> list[str]:
        return [line.text for line in self.lines] + [self.note]


@dataclass(frozen=True)
class UnitScore:
    parts: tuple[PartResult, ...]
    missing: tuple[str, ...]  # labels of facts not entered yet

    @property
    def complete(self) -> bool:
        return not self.missing and all(part.points is not None for part in self.parts)

    @property
    def waiting_for(self) -> tuple:
        """Return the other units whose missing facts make this unit's rank points 暂定."""
        found = dict.fromkeys(
            key for part in self.parts for line in part.lines for key in line.waiting_for
        )
        return tuple(found)

    @property
    def provisional(self) -> bool:
        return bool(self.waiting_for)

    @property
    def points(self) -> dict[str, Fraction]:
        """Return {part key: points} for the parts that could be computed."""
        return {p.part.key: p.points for p in self.parts if p.points is not None}

    @property
    def total(self) -> Fraction | None:
        if not self.complete:
            return None
        return sum(self.points.values(), Fraction(0))


def competition_ranks(values: Mapping[Hashable, Fraction], *, best: str) -> dict[Hashable, int]:
    """Rank values so that ties share the better place and the next place is skipped (1, 2, 2, 4).

    best="high" puts the highest value first; best="low" the lowest.
    """
    if best not in ("high", "low"):
        raise ValueError(best)
    ordered = sorted(values.values(), reverse=best == "high")
    first_place: dict[Fraction, int] = {}
    for index, value in enumerate(ordered, 1):
        first_place.setdefault(value, index)
    return {key: first_place[value] for key, value in values.items()}


def score_units(checklist: Checklist, units: Mapping[Hashable, UnitInput]) -> dict:
    """Score every unit of a season; rank items are ranked across the units that have them."""
    metrics: dict[Item, dict[Hashable, Fraction]] = {}
    for part in checklist.parts:
        for item in part.items:
            if item.rule is Rule.RANK:
                metrics[item] = {
                    key: value
                    for key, unit in units.items()
                    if (value := _metric(item, unit)) is not None
                }
    places = {item: competition_ranks(values, best=item.order) for item, values in metrics.items()}
    waiting = {item: tuple(k for k in units if k not in values) for item, values in metrics.items()}
    return {
        key: _score_unit(checklist, key, unit, metrics, places, waiting)
        for key, unit in units.items()
    }


def place_text(place: int | None, tied: bool, provisional: bool = False) -> str:
    """Return "1", "1（并列）" or "暂定 2（并列）"; "—" for a unit without a place."""
    if place is None:
        return "—"
    text = f"{place}（并列）" if tied else str(place)
    return f"暂定 {text}" if provisional else text


def tied_places(places: Mapping[Hashable, int]) -> set[int]:
    """Return the places two or more units share (名次并列)."""
    seen: dict[int, int] = {}
    for place in places.values():
        seen[place] = seen.get(place, 0) + 1
    return {place for place, count in seen.items() if count > 1}


def _metric(item: Item, unit: UnitInput) -> Fraction | None:
    value = unit.facts.get(item.fact)
    if value is None:
        return None
    value = Fraction(value)
    if item.of:
        whole = unit.facts.get(item.of)
        if whole is None:
            return None
        return Fraction(1) if whole == 0 else value / Fraction(whole)
    if item.per_10000:
        if not unit.population:
            return None
        return value * PER_10000 / unit.population
    return value


def _score_unit(checklist, key, unit: UnitInput, metrics, places, waiting) -> UnitScore:
    missing: list[str] = []
    parts = []
    for part in checklist.parts:
        lines = []
        for item in part.items:
            absent = [checklist.facts[name].label for name in item.facts if name not in unit.facts]
            if absent:
                missing.extend(label for label in absent if label not in missing)
                lines.append(LineResult(item, None, f"{item.name}：未录入“{'”“'.join(absent)}”"))
                continue
            if item.rule is Rule.RANK:
                if key not in places[item]:  # a per-10,000 item without a population
                    missing.append("单位人口")
                    lines.append(LineResult(item, None, f"{item.name}：缺少单位人口，无法折算"))
                    continue
                line = _rank_line(
                    checklist, item, unit, metrics[item], metrics[item][key], places[item][key]
                )
                others = tuple(k for k in waiting[item] if k != key)
                if others:
                    # A later unit may take a better place: the points are not final yet.
                    line = replace(
                        line,
                        text=f"{line.text}（暂定：另有{len(others)}个单位尚未录入，名次可能变化）",
                        waiting_for=others,
                    )
                lines.append(line)
                continue
            lines.append(_line(checklist, item, unit.facts[item.fact]))
        parts.append(_part_result(checklist, part, _limit_to_items(lines), unit))
    return UnitScore(tuple(parts), tuple(dict.fromkeys(missing)))


def _points(value: Fraction) -> str:
    return format_decimal(value)


def _count(checklist: Checklist, item: Item, value) -> str:
    return f"{format_decimal(value)}{checklist.facts[item.fact].unit}"


def _line(checklist: Checklist, item: Item, value: FactValue) -> LineResult:
    rule = item.rule
    if rule is Rule.AWARD:
        if value:
            return LineResult(item, item.points, f"{item.name}：是，得{_points(item.points)}分")
        return LineResult(
            item, Fraction(0), f"{item.name}：否，不得分（本项{_points(item.points)}分）"
        )
    if rule is Rule.FORFEIT:
        if value:
            return LineResult(
                item, Fraction(0), f"{item.name}：是，扣{_points(item.points)}分，本项得0分"
            )
        return LineResult(item, item.points, f"{item.name}：否，得{_points(item.points)}分")
    if rule is Rule.DEDUCT:
        if value:
            return LineResult(item, -item.points, f"{item.name}：是，扣{_points(item.points)}分")
        return LineResult(item, Fraction(0), f"{item.name}：否，不扣分")
    if rule is Rule.VETO:
        if value:
            return LineResult(item, Fraction(0), f"{item.name}：是，实行一票否决")
        return LineResult(item, Fraction(0), f"{item.name}：否")
    if rule is Rule.QUOTA:
        unit = checklist.facts[item.fact].unit
        short = max(0, item.target - int(value))
        if not short:
            return LineResult(
                item,
                item.points,
                f"{item.name}{_count(checklist, item, value)}，达到{item.target}{unit}以上，"
                f"得{_points(item.points)}分",
            )
        lost = min(item.points, item.per_missing * short)
        got = item.points - lost
        return LineResult(
            item,
            got,
            f"{item.name}{_count(checklist, item, value)}，少{short}{unit}，"
            f"扣{_points(lost)}分，得{_points(got)}分（本项{_points(item.points)}分）",
        )
    # Rule.EACH
    unit = checklist.facts[item.fact].unit or "次"
    verb = "加" if item.each > 0 else "扣"
    size = abs(item.each)
    total = size * int(value)
    capped = item.cap is not None and total > item.cap
    if capped:
        total = item.cap
    signed = total if item.each > 0 else -total
    if not value:
        return LineResult(item, Fraction(0), f"{item.name}0{unit}，不{verb}分")
    text = f"{item.name}{_count(checklist, item, value)}，每{unit}{verb}{_points(size)}分"
    if capped:
        text += f"，最多{verb}{_points(item.cap)}分"
    return LineResult(item, signed, f"{text}，{verb}{_points(total)}分")


def item_deduction_limit(earned: Fraction, deductions: list[Fraction]) -> list[Fraction]:
    """Cut deductions (positive amounts, in order) so that together they take at most `earned`.

    Seed 002 预防 (9): "建立并落实行政处罚自由裁量基准制度，2分。未梳理并公开…扣1分；
    …通报批评1件事项扣0.1分，最多扣1分": the item is worth 2 points, and a unit that earned
    none of them has none to lose.
    """
    left = max(earned, Fraction(0))
    kept = []
    for amount in deductions:
        taken = min(amount, left)
        kept.append(taken)
        left -= taken
    return kept


def _limit_to_items(lines: list[LineResult]) -> tuple[LineResult, ...]:
    """Apply each clause's item limit to its deduction lines (others are left as they are)."""
    result = list(lines)
    clauses = dict.fromkeys(
        line.item.clause for line in lines if line.item.deductions is DeductionLimit.ITEM
    )
    for clause in clauses:
        members = [i for i, line in enumerate(lines) if line.item.clause == clause]
        if any(lines[i].points is None for i in members):
            continue
        earned = sum(
            (lines[i].points for i in members if lines[i].item.has_own_points), Fraction(0)
        )
        limited = [
            i
            for i in members
            if lines[i].item.deductions is DeductionLimit.ITEM and lines[i].points < 0
        ]
        kept = item_deduction_limit(earned, [-lines[i].points for i in limited])
        for i, taken in zip(limited, kept, strict=True):
            line = lines[i]
            if taken == -line.points:
                continue
            result[i] = LineResult(
                line.item,
                -taken,
                f"{line.text}；本项{clause}扣分以本项所得{_points(earned)}分为限，"
                f"实扣{_points(taken)}分",
                line.place,
            )
    return tuple(result)


def _rank_line(checklist, item: Item, unit: UnitInput, metric: dict, own, place) -> LineResult:
    value = unit.facts[item.fact]
    fact_unit = checklist.facts[item.fact].unit
    if item.of:
        whole = unit.facts[item.of]
        shown = (
            f"{format_decimal(value)}/{format_decimal(whole)}，即{format_percent(own)}"
            if whole
            else "没有要结果的件，按100%计"
        )
    elif item.per_10000:
        shown = (
            f"{format_decimal(value)}{fact_unit}，人口{unit.population}人，"
            f"每万人{format_fixed(own, 2)}{fact_unit}"
        )
    else:
        shown = f"{format_decimal(value)}{fact_unit}"
    ties = sum(1 for other in metric.values() if other == own)
    direction = "由低到高" if item.order == "low" else "由高到低"
    tied = f"（{ties}个单位并列）" if ties > 1 else ""
    raw = item.first - item.step * (place - 1)
    points = max(Fraction(0), raw)
    floor = "（递减至0分为止）" if raw < 0 else ""
    return LineResult(
        item,
        points,
        f"{item.name}：{shown}，{direction}第{place}名{tied}，共{len(metric)}个单位，"
        f"得{_points(points)}分{floor}",
        place=place,
    )


def _part_result(checklist, part: Part, lines: tuple[LineResult, ...], unit) -> PartResult:
    vetoed = any(
        line.item.rule is Rule.VETO and unit.facts.get(line.item.fact) is True for line in lines
    )
    if vetoed:
        return PartResult(part, lines, None, Fraction(0), True, f"一票否决，{part.name}方面记0分")
    if any(line.points is None for line in lines):
        return PartResult(part, lines, None, None, False, f"{part.name}：事实未录入完整，暂不计分")
    subtotal = sum((line.points for line in lines), Fraction(0))
    points = min(max(subtotal, Fraction(0)), part.maximum)
    if subtotal < 0:
        note = f"{part.name}各项合计{_points(subtotal)}分，低于0分，按0分计"
    elif subtotal > part.maximum:
        note = (
            f"{part.name}各项合计{_points(subtotal)}分，超过满分{_points(part.maximum)}分，"
            f"按{_points(part.maximum)}分计"
        )
    else:
        note = f"{part.name}合计{_points(points)}分（满分{_points(part.maximum)}分）"
    return PartResult(part, lines, subtotal, points, False, note)
