"""Is the evaluation valid? Quorum (实到 > 应到 ÷ 2) and, for paper, 收回 ≤ 发出 per group.

Common practice (not in the seeds): an evaluation is held only when more than half of those
expected are present, and a paper vote in which more ballots come back than were handed out
is void and repeated. Both checks compare integers, so there is nothing to round.
"""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ValidityCheck:
    """The outcome of the checks, with the sentence every sheet prints."""

    expected: int
    received: int
    quorum: bool
    over_returned: tuple[str, ...]  # one sentence per group with 收回 > 发出

    @property
    def valid(self) -> bool:
        return self.quorum and not self.over_returned

    @property
    def text(self) -> str:
        lines = []
        if self.quorum:
            lines.append(f"有效：实到超过应到半数（实到 {self.received}，应到 {self.expected}）")
        else:
            lines.append(
                f"警告：实到 {self.received} 未超过应到 {self.expected} 的半数，"
                "本次测评不符合有效条件，应重新组织测评"
            )
        lines.extend(self.over_returned)
        return "；".join(lines)


def has_quorum(expected: int, received: int) -> bool:
    """Tell whether more than half of those expected took part: 实到 > 应到 ÷ 2, exactly."""
    return 2 * received > expected


def check_validity(
    expected: int, received: int, issued: Mapping[str, int], returned: Mapping[str, int]
) -> ValidityCheck:
    """Check quorum and, group by group, that no more ballots came back than were handed out."""
    over = tuple(
        f"警告：{group}收回 {returned[group]} 张，多于发出 {issued.get(group, 0)} 张，"
        "本次测评无效，应重新测评"
        for group in returned
        if returned[group] > issued.get(group, 0)
    )
    return ValidityCheck(expected, received, has_quorum(expected, received), over)
