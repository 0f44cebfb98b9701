"""Questionnaires (测评表) as data: a rating scale, items per kind of subject, comment limits."""

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

SUBJECT_KINDS = ("team", "principal", "member")
QUESTIONNAIRE_DIR = Path(__file__).resolve().parent.parent / "rules" / "questionnaires"


class QuestionnaireError(ValueError):
    """A questionnaire file or document that does not hold together."""


@dataclass(frozen=True)
class Option:
    key: str
    label: str


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    applies_to: tuple[str, ...]


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

    def items_for(self, subject_kind: str) -> tuple[Item, ...]:
        return tuple(item for item in self.items if subject_kind in item.applies_to)

    def option_keys(self) -> frozenset[str]:
        return frozenset(option.key for option in self.options)

    def to_document(self) -> dict:
        """Return the JSON-ready form frozen into a session when it opens."""
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title,
            "instructions": self.instructions,
            "scale": {
                "options": [{"key": o.key, "label": o.label} for o in self.options],
                "good_or_better": sorted(self.good_or_better),
            },
            "items": [
                {"key": i.key, "label": i.label, "applies_to": list(i.applies_to)}
                for i in self.items
            ],
            "comments": {
                "per_subject": self.comment_per_subject,
                "overall": self.comment_overall,
                "max_length": self.comment_max_length,
            },
        }

    def canonical_json(self) -> str:
        return json.dumps(
            self.to_document(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def from_document(doc: dict, source: str = "测评表") -> Questionnaire:
    """Build and validate a questionnaire from its dict form (TOML file or frozen JSON)."""
    try:
        scale = doc["scale"]
        options = tuple(Option(str(o["key"]), str(o["label"])) for o in scale["options"])
        items = tuple(
            Item(str(i["key"]), str(i["label"]), tuple(i.get("applies_to", SUBJECT_KINDS)))
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
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise QuestionnaireError(f"{source}: 缺少或无法识别的字段 {exc}") from exc
    _validate(questionnaire, source)
    return questionnaire


def _validate(q: Questionnaire, source: str) -> None:
    option_keys = [o.key for o in q.options]
    if len(option_keys) < 2 or len(set(option_keys)) != len(option_keys):
        raise QuestionnaireError(f"{source}: 评价等次至少两个且不能重复")
    if not q.good_or_better or not q.good_or_better <= set(option_keys):
        raise QuestionnaireError(f"{source}: “较好以上”等次必须是评价等次中的一部分")
    item_keys = [i.key for i in q.items]
    if not item_keys or len(set(item_keys)) != len(item_keys):
        raise QuestionnaireError(f"{source}: 测评项目不能为空且不能重复")
    for item in q.items:
        unknown = set(item.applies_to) - set(SUBJECT_KINDS)
        if unknown or not item.applies_to:
            raise QuestionnaireError(f"{source}: 测评项目“{item.label}”的适用对象无法识别")
    if not 0 < q.comment_max_length <= 5000:
        raise QuestionnaireError(f"{source}: 意见建议字数上限应在1到5000之间")


def load_file(path: Path) -> Questionnaire:
    with path.open("rb") as handle:
        return from_document(tomllib.load(handle), source=path.name)


def shipped() -> dict[str, Questionnaire]:
    """Return the questionnaires shipped in survey/rules/questionnaires, by key."""
    found = (load_file(path) for path in sorted(QUESTIONNAIRE_DIR.glob("*.toml")))
    return {q.key: q for q in found}
