"""The seal: a SHA-256 over a canonical form of everything a result depends on.

The sealed document holds the session facts, the frozen questionnaire, the rule set file and
every ballot (sorted, so storage order never matters). Anyone holding an exported archive can
recompute the seal, and the tally, with nothing but this module and the rules engine.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping

SEAL_FORMAT = "survey-seal-1"


def canonical_ballot(group: str, ratings: Mapping, comments: Mapping, overall_comment: str) -> dict:
    """Return a ballot as plain JSON data with a stable order inside it."""
    return {
        "group": group,
        "ratings": sorted([int(s), str(i), str(v)] for (s, i), v in ratings.items()),
        "comments": sorted([int(s), str(t)] for s, t in comments.items()),
        "overall_comment": overall_comment or "",
    }


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sealed_document(
    facts: Mapping, questionnaire: Mapping, ruleset: Mapping, ballots: Iterable[Mapping]
) -> dict:
    """Assemble the document the seal covers; ballots are sorted by their canonical text."""
    return {
        "format": SEAL_FORMAT,
        "session": dict(facts),
        "questionnaire": dict(questionnaire),
        "ruleset": dict(ruleset),
        "ballots": sorted(ballots, key=_dumps),
    }


def seal_of(document: Mapping) -> str:
    """Return the SHA-256 (hex) of the document's canonical JSON."""
    return hashlib.sha256(_dumps(document).encode()).hexdigest()


def verify(archive: Mapping) -> tuple[bool, str]:
    """Check an exported archive ({"sealed": document, "seal": hex}) against its seal."""
    try:
        document, claimed = archive["sealed"], archive["seal"]
    except (KeyError, TypeError):
        return False, "文件不是测评归档：缺少 sealed 或 seal 字段"
    if not isinstance(document, Mapping) or document.get("format") != SEAL_FORMAT:
        return False, "文件格式无法识别"
    actual = seal_of(document)
    if actual != claimed:
        return False, f"校验失败：内容计算出的封存码为 {actual}，与文件所记 {claimed} 不符"
    return True, f"校验通过：封存码 {actual}"
