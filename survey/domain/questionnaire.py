"""Questionnaires (测评表) as data: a rating scale, items per kind of subject, comment limits.

A questionnaire may be *scored* (seed 003's 问卷调查表 splits the work into items worth points):
then every item carries ``points`` and every option a ``credit``, the fraction of an item's
points that the option earns (好 1, 较好 0.8, 一般 0.6, 差 0). For each kind of subject that has
items, the points add up to exactly 100, and the best option earns the full points (credit 1).
Numbers are written as decimal strings ("0.8", "12.5") and kept exact (Fraction); the frozen
JSON prints them back as the same strings, so an unscored questionnaire's hash is unchanged.
"""

import hashlib
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .numbers import format_decimal, parse_decimal
from .rulefile import read_rule_file

SUBJECT_KINDS = ("team", "principal", "member")
QUESTIONNAIRE_DIR = Path(__file__).resolve().parent.parent / "rules" / "questionnaires"
SCORED_TOTAL = Fraction(100)
DEFAULT_RATE_LABEL = "较好以上率"


class QuestionnaireError(ValueError):
    """A questionnaire file or document that does not hold together."""


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    credit: Fraction | None = None


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    applies_to: tuple[str, ...]
    points: Fraction | None = None


@dataclass(frozen=True)
class Questionnaire:
    key: str
    version: str
    title: str
    instructions: str
    options: tuple[Option, ...]
    good_or_better: frozenset[str]
    items: tuple[Item, ...]
    comment_per_subject: bool
    comment_overall: bool
    comment_max_length: int
    # What the rate of the good-or-better options is called (称职以上率, 满意率 …).
    rate_label: str = DEFAULT_RATE_LABEL

    def items_for(self, subject_kind: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if subject_kind in item.applies_to)

    def option_keys(self) -> frozenset[str]:
        return frozenset(option.key for option in self.options)

    @property
    def scored(self) -> bool:
        """Whether items carry points (a 百分制 questionnaire)."""
        return any(item.points is not None for item in self.items)

    def points_for(self, item_key: str, option_key: str) -> Fraction:
        """Return the exact points an answer earns on a scored item."""
        item = next((i for i in self.items if i.key == item_key), None)
        option = next((o for o in self.options if o.key == option_key), None)
        if item is None or option is None or item.points is None or option.credit is None:
            raise QuestionnaireError(f"{self.title}: 无法为 {item_key}={option_key} 计分")
        return item.points * option.credit

    def to_document(self) -> dict:
        """Return the JSON-ready form frozen into a session when it opens."""
        options = []
        for o in self.options:
            option = {"key": o.key, "label": o.label}
            if o.credit is not None:
                option["credit"] = format_decimal(o.credit)
            options.append(option)
        items = []
        for i in self.items:
            item = {"key": i.key, "label": i.label, "applies_to": list(i.applies_to)}
            if i.points is not None:
                item["points"] = format_decimal(i.points)
            items.append(item)
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title,
            "instructions": self.instructions,
            "scale": {
                "options": options,
                "good_or_better": sorted(self.good_or_better),
                # Only when not the default, so that the frozen JSON of older forms is unchanged.
                **(
                    {"rate_label": self.rate_label} if self.rate_label != DEFAULT_RATE_LABEL else {}
                ),
            },
            "items": items,
            "comments": {
                "per_subject": self.comment_per_subject,
                "overall": self.comment_overall,
                "max_length": self.comment_max_length,
            },
        }

    def _rate_label_entry(self) -> dict:
        return {} if self.rate_label == DEFAULT_RATE_LABEL else {"rate_label": self.rate_label}

    def canonical_json(self) -> str:
        return json.dumps(
            self.to_document(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _number(raw: object, what: str) -> Fraction | None:
    """Read an optional exact number written as a decimal string (or a TOML integer)."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        # A TOML float such as 0.8 is binary, not what was written: ask for a string.
        raise QuestionnaireError(f'{what} 应写成带引号的小数，如 "0.8"')
    try:
        return parse_decimal(str(raw))
    except ValueError as exc:
        raise QuestionnaireError(f"{what}: {exc}") from None


def from_document(doc: dict, source: str = "测评表") -> Questionnaire:
    """Build and validate a questionnaire from its dict form (TOML file or frozen JSON)."""
    try:
        scale = doc["scale"]
        options = tuple(
            Option(
                str(o["key"]),
                str(o["label"]),
                _number(o.get("credit"), f"{source}: 等次“{o['label']}”的折算比例"),
            )
            for o in scale["options"]
        )
        items = tuple(
            Item(
                str(i["key"]),
                str(i["label"]),
                tuple(i.get("applies_to", SUBJECT_KINDS)),
                _number(i.get("points"), f"{source}: 测评项目“{i['label']}”的分值"),
            )
            for i in doc["items"]
        )
        comments = doc.get("comments", {})
        questionnaire = Questionnaire(
            key=str(doc["key"]),
            version=str(doc["version"]),
            title=str(doc["title"]),
            instructions=str(doc.get("instructions", "")),
            options=options,
            good_or_better=frozenset(scale["good_or_better"]),
            items=items,
            comment_per_subject=bool(comments.get("per_subject", False)),
            comment_overall=bool(comments.get("overall", False)),
            comment_max_length=int(comments.get("max_length", 500)),
            rate_label=str(scale.get("rate_label", DEFAULT_RATE_LABEL)).strip()
            or DEFAULT_RATE_LABEL,
        )
    except QuestionnaireError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise QuestionnaireError(f"{source}: 缺少或无法识别的字段 {exc}") from exc
    _validate(questionnaire, source)
    return questionnaire


def _validate(q: Questionnaire, source: str) -> None:
    if not q.title.strip():
        raise QuestionnaireError(f"{source}: 测评表标题不能为空")
    option_keys = [o.key for o in q.options]
    if len(option_keys) < 2 or len(set(option_keys)) != len(option_keys):
        raise QuestionnaireError(f"{source}: 评价等次至少两个且不能重复")
    if not q.good_or_better or not q.good_or_better <= set(option_keys):
        raise QuestionnaireError(f"{source}: “较好以上”等次必须是评价等次中的一部分")
    item_keys = [i.key for i in q.items]
    if not item_keys or len(set(item_keys)) != len(item_keys):
        raise QuestionnaireError(f"{source}: 测评项目不能为空且不能重复")
    for item in q.items:
        if not item.label.strip():
            raise QuestionnaireError(f"{source}: 测评项目名称不能为空")
        unknown = set(item.applies_to) - set(SUBJECT_KINDS)
        if unknown or not item.applies_to:
            raise QuestionnaireError(f"{source}: 测评项目“{item.label}”的适用对象无法识别")
    if not 0 < q.comment_max_length <= 5000:
        raise QuestionnaireError(f"{source}: 意见建议字数上限应在1到5000之间")
    _validate_points(q, source)


def _validate_points(q: Questionnaire, source: str) -> None:
    """A questionnaire is scored throughout or not at all, and each kind's points make 100."""
    if not q.scored:
        if any(o.credit is not None for o in q.options):
            raise QuestionnaireError(f"{source}: 设置了等次折算比例，但测评项目没有分值")
        return
    for item in q.items:
        if item.points is None or item.points <= 0:
            raise QuestionnaireError(f"{source}: 测评项目“{item.label}”应有大于0的分值")
    for option in q.options:
        if option.credit is None or not 0 <= option.credit <= 1:
            raise QuestionnaireError(f"{source}: 等次“{option.label}”的折算比例应在0到1之间")
    if max(o.credit for o in q.options) != 1:
        raise QuestionnaireError(f"{source}: 最高等次的折算比例应为1（得满分）")
    for kind in SUBJECT_KINDS:
        items = q.items_for(kind)
        total = sum((i.points for i in items), Fraction(0))
        if items and total != SCORED_TOTAL:
            raise QuestionnaireError(
                f"{source}: 各测评项目分值合计应为100分，现为{format_decimal(total)}分"
            )


def load_file(path: Path) -> Questionnaire:
    _, document = read_rule_file(path.read_bytes(), path.name)
    return from_document(document, source=path.name)


def shipped() -> dict[str, Questionnaire]:
    """Return the questionnaires shipped in survey/rules/questionnaires, by key."""
    found = (load_file(path) for path in sorted(QUESTIONNAIRE_DIR.glob("*.toml")))
    return {q.key: q for q in found}
