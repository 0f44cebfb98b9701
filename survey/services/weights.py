"""Rater-group weights set per session: exact decimals that add up to exactly 1.

With weights, a subject's rate is Σ weight × (the group's rate), over the groups that cast a
valid vote (weights renormalised over them); the pooled rate is shown beside it. A rule set
that weighs groups itself takes precedence. Weights are set while the session is a draft, so
nobody can change them once the votes are known.
"""

from fractions import Fraction

from survey.domain.numbers import format_decimal, parse_decimal, parse_percent
from survey.extensions import db
from survey.models import EvalSession, User
from survey.services import ServiceError
from survey.services.audit import record
from survey.services.sessions import require_draft


def parse_weight(text: str) -> Fraction:
    """Read "0.3" or "30%" exactly; raise ServiceError in Chinese otherwise."""
    cleaned = text.strip()
    try:
        return parse_percent(cleaned) if cleaned.endswith(("%", "％")) else parse_decimal(cleaned)
    except ValueError:
        raise ServiceError(f"权重“{cleaned[:20]}”不是有效的数，应写成 0.3 或 30%。") from None


def set_group_weights(session: EvalSession, raw: dict[int, str], actor: User | None) -> None:
    """Set every group's weight (all blank clears them); refuse any that do not add up to 1."""
    require_draft(session, "参评人员类别权重")
    texts = {g.id: (raw.get(g.id) or "").strip() for g in session.groups}
    if not any(texts.values()):
        for group in session.groups:
            group.weight = None
        record(actor, "set_group_weights", session.id, "不加权")
        db.session.flush()
        return
    weights: dict[int, Fraction] = {}
    for group in session.groups:
        text = texts[group.id]
        if not text:
            raise ServiceError(f"请为“{group.name}”填写权重，或清空全部权重（不加权）。")
        weight = parse_weight(text)
        if weight <= 0 or weight > 1:
            raise ServiceError(f"“{group.name}”的权重应大于0且不大于1。")
        weights[group.id] = weight
    total = sum(weights.values(), Fraction(0))
    if total != 1:
        shown = format_decimal(total) if _terminates(total) else f"{total}"
        raise ServiceError(f"各类别权重之和为 {shown}，应恰好为 1（即 100%）。")
    for group in session.groups:
        group.weight = format_decimal(weights[group.id])
    detail = "，".join(f"{g.name} {g.weight}" for g in session.groups)
    record(actor, "set_group_weights", session.id, detail)
    db.session.flush()


def _terminates(value: Fraction) -> bool:
    try:
        format_decimal(value)
    except ValueError:
        return False
    return True
