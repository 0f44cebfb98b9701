"""Vote counts per subject and the 较好以上率 computed from them."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from fractions import Fraction

from .errors import ScoreInputError
from .numbers import Exact, exact
from .roles import Rating


@dataclass(frozen=True)
class VoteCounts:
    """Votes one subject received: the four ratings plus abstentions (弃权)."""

    good: int = 0
    fairly_good: int = 0
    average: int = 0
    poor: int = 0
    abstain: int = 0

    def __post_init__(self) -> None:
        for field in fields(self):
            count = getattr(self, field.name)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ScoreInputError(f"票数 {field.name} 必须是非负整数,收到 {count!r}")

    @classmethod
    def from_ratings(cls, counts: Mapping[Rating, int], abstain: int = 0) -> "VoteCounts":
        """Build counts from a {Rating: count} mapping; missing ratings count zero."""
        return cls(
            good=counts.get(Rating.GOOD, 0),
            fairly_good=counts.get(Rating.FAIRLY_GOOD, 0),
            average=counts.get(Rating.AVERAGE, 0),
            poor=counts.get(Rating.POOR, 0),
            abstain=abstain,
        )

    @classmethod
    def pooled(cls, parts: Iterable["VoteCounts"]) -> "VoteCounts":
        """Add up counts, e.g. over rater groups."""
        total = cls()
        for part in parts:
            total = total + part
        return total

    def __add__(self, other: "VoteCounts") -> "VoteCounts":
        if not isinstance(other, VoteCounts):
            return NotImplemented
        return VoteCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def valid(self) -> int:
        """Return the valid votes: every rating, abstentions excluded."""
        return self.good + self.fairly_good + self.average + self.poor

    @property
    def good_or_better(self) -> int:
        """Return the 好 + 较好 votes."""
        return self.good + self.fairly_good

    @property
    def rate(self) -> Fraction | None:
        """Return the exact 较好以上率, or None when there is no valid vote."""
        if self.valid == 0:
            return None
        return Fraction(self.good_or_better, self.valid)

    @property
    def rate_text(self) -> str | None:
        """Return the unreduced "好+较好/有效票" fraction (e.g. "190/200"), or None."""
        if self.valid == 0:
            return None
        return f"{self.good_or_better}/{self.valid}"


def weighted_rate(
    by_group: Mapping[str, VoteCounts], weights: Mapping[str, Exact]
) -> Fraction | None:
    """Return Σ weight × group rate over groups with valid votes, weights renormalised over them.

    Return None when no group has a valid vote. Every group with votes must have a weight.
    """
    exact_weights = {group: exact(weight) for group, weight in weights.items()}
    for group, weight in exact_weights.items():
        if weight <= 0:
            raise ScoreInputError(f"参评人员类别 “{group}” 的权重必须为正数")
    for group in by_group:
        if group not in exact_weights:
            raise ScoreInputError(f"参评人员类别 “{group}” 没有权重")
    # A group that cast no valid vote has no rate; its weight goes to the others.
    voting = {group: counts.rate for group, counts in by_group.items() if counts.rate is not None}
    if not voting:
        return None
    weight_sum = sum(exact_weights[group] for group in voting)
    return sum(exact_weights[group] * rate for group, rate in voting.items()) / weight_sum
