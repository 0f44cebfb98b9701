"""Count anonymous ballots per subject, item and rater group; hide groups too small to show.

Plain data in, plain data out: the service layer reads the database, this module counts.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .questionnaire import Questionnaire
from .roles import Rating, SubjectRole
from .votes import VoteCounts

OVERALL_ITEM = "overall"
MIN_GROUP_SIZE_FLOOR = 3
# The label a hidden group's ballots carry wherever ballots are listed one by one.
MERGED_GROUP = "其他类别（合并）"


@dataclass(frozen=True)
class SubjectSpec:
    id: int
    name: str
    post: str
    role: SubjectRole


@dataclass(frozen=True)
class GroupSpec:
    name: str
    expected: int
    weight: Fraction | None = None  # set per session; None means the votes are pooled


@dataclass(frozen=True)
class BallotRecord:
    """One anonymous ballot: its rater group and {(subject id, item key): option key}."""

    group: str
    ratings: Mapping[tuple[int, str], str]


def _four_ratings(questionnaire: Questionnaire) -> bool:
    """Tell whether the scale is 好/较好/一般/差 with 好 and 较好 as good-or-better."""
    return questionnaire.option_keys() == {r.value for r in Rating} and (
        questionnaire.good_or_better == {Rating.GOOD.value, Rating.FAIRLY_GOOD.value}
    )


@dataclass
class ItemCounts:
    """How one item about one subject was answered by a set of ballots."""

    options: Counter = field(default_factory=Counter)
    abstain: int = 0

    @property
    def valid(self) -> int:
        return sum(self.options.values())

    def good_or_better(self, questionnaire: Questionnaire) -> int:
        return sum(n for key, n in self.options.items() if key in questionnaire.good_or_better)

    def rate(self, questionnaire: Questionnaire) -> Fraction | None:
        """Return the exact 较好以上率, or None when nobody gave a valid answer."""
        valid = self.valid
        return Fraction(self.good_or_better(questionnaire), valid) if valid else None

    def vote_counts(self, questionnaire: Questionnaire | None = None) -> VoteCounts:
        """Return the counts on the four-rating scale that the scoring rules speak of.

        With a questionnaire whose scale is another one (优秀/称职/基本称职/不称职, 满意/…),
        its good-or-better options count as 好 and the rest as 差: the rate is the same.
        """
        if questionnaire is not None and not _four_ratings(questionnaire):
            better = self.good_or_better(questionnaire)
            return VoteCounts(good=better, poor=self.valid - better, abstain=self.abstain)
        return VoteCounts(
            good=self.options[Rating.GOOD.value],
            fairly_good=self.options[Rating.FAIRLY_GOOD.value],
            average=self.options[Rating.AVERAGE.value],
            poor=self.options[Rating.POOR.value],
            abstain=self.abstain,
        )

    def __add__(self, other: "ItemCounts") -> "ItemCounts":
        return ItemCounts(self.options + other.options, self.abstain + other.abstain)


@dataclass
class Tally:
    """Counts of one session's ballots."""

    questionnaire: Questionnaire
    subjects: Sequence[SubjectSpec]
    groups: Sequence[GroupSpec]
    received_by_group: dict[str, int]
    # (subject id, item key) -> group name -> counts
    counts: dict[tuple[int, str], dict[str, ItemCounts]]

    @property
    def received(self) -> int:
        return sum(self.received_by_group.values())

    @property
    def expected(self) -> int:
        return sum(group.expected for group in self.groups)

    def participation(self) -> Fraction | None:
        return Fraction(self.received, self.expected) if self.expected else None

    def items_for(self, subject: SubjectSpec):
        return self.questionnaire.items_for(subject.role.value)

    def pooled(self, subject_id: int, item: str) -> ItemCounts:
        total = ItemCounts()
        for part in self.counts[(subject_id, item)].values():
            total = total + part
        return total

    def by_group(self, subject_id: int, item: str) -> dict[str, ItemCounts]:
        return self.counts[(subject_id, item)]


def tally_ballots(
    questionnaire: Questionnaire,
    subjects: Sequence[SubjectSpec],
    groups: Sequence[GroupSpec],
    ballots: Iterable[BallotRecord],
) -> Tally:
    """Count every ballot; a line left blank on a ballot is an abstention for that line."""
    names = [group.name for group in groups]
    counts = {
        (subject.id, item.key): {name: ItemCounts() for name in names}
        for subject in subjects
        for item in questionnaire.items_for(subject.role.value)
    }
    received: Counter = Counter({name: 0 for name in names})
    for ballot in ballots:
        received[ballot.group] += 1
        for key, by_group in counts.items():
            option = ballot.ratings.get(key)
            if option is None:
                by_group[ballot.group].abstain += 1
            else:
                by_group[ballot.group].options[option] += 1
    return Tally(questionnaire, subjects, groups, dict(received), counts)


def tally_counts(
    questionnaire: Questionnaire,
    subjects: Sequence[SubjectSpec],
    groups: Sequence[GroupSpec],
    received_by_group: Mapping[str, int],
    answers: Iterable[tuple[str, int, str, str, int]],
) -> Tally:
    """Build the same Tally as tally_ballots from counts already grouped (e.g. by SQL).

    `answers` holds (group, subject id, item key, option key, how many ballots chose it); a
    line's abstentions are its group's ballots that chose nothing on it. Counts for lines
    the questionnaire does not have are ignored, as tally_ballots ignores such ratings.
    """
    names = [group.name for group in groups]
    counts = {
        (subject.id, item.key): {name: ItemCounts() for name in names}
        for subject in subjects
        for item in questionnaire.items_for(subject.role.value)
    }
    received = {name: int(received_by_group.get(name, 0)) for name in names}
    for group, subject_id, item, option, n in answers:
        by_group = counts.get((subject_id, item))
        if by_group is not None and group in by_group:
            by_group[group].options[option] += int(n)
    for by_group in counts.values():
        for name, item_counts in by_group.items():
            item_counts.abstain = received[name] - item_counts.valid
    return Tally(questionnaire, subjects, groups, received, counts)


def score_item(questionnaire: Questionnaire, role: SubjectRole) -> str | None:
    """Return the item whose rate is scored: the overall rating, or the only item."""
    items = questionnaire.items_for(role.value)
    keys = [item.key for item in items]
    if OVERALL_ITEM in keys:
        return OVERALL_ITEM
    return keys[0] if len(keys) == 1 else None


def shown_groups(received_by_group: Mapping[str, int], min_size: int) -> set[str]:
    """Return the rater groups whose figures may be shown on their own.

    A group with fewer than min_size ballots is hidden. If only one group were hidden, its
    figures would follow from the total minus the shown groups, so the smallest shown group
    is hidden with it (complementary suppression); no total is shown for the hidden ones.
    """
    min_size = max(min_size, MIN_GROUP_SIZE_FLOOR)
    # The merged group of an exported archive holds groups already hidden (and their
    # complement): it stays hidden, and hides nothing more.
    hidden = {name for name, n in received_by_group.items() if n < min_size or name == MERGED_GROUP}
    shown = set(received_by_group) - hidden
    if len(hidden) == 1 and shown and MERGED_GROUP not in hidden:
        shown.remove(min(shown, key=lambda name: (received_by_group[name], name)))
    return shown


def merge_hidden_groups(
    groups: Sequence[GroupSpec], ballot_groups: Iterable[str], min_size: int
) -> tuple[list[GroupSpec], dict[str, str]]:
    """Apply the small-group rule to listed ballots: return the groups and each one's label.

    The groups shown_groups() hides become one merged group (expected counts summed), and
    their ballots carry its label, so no export lists a small group's ballots under its name.
    """
    received: Counter = Counter({group.name: 0 for group in groups})
    received.update(ballot_groups)
    shown = shown_groups(received, min_size)
    hidden = [group for group in groups if group.name not in shown]
    labels = {group.name: group.name if group.name in shown else MERGED_GROUP for group in groups}
    if not hidden:
        return list(groups), labels
    kept = [group for group in groups if group.name in shown]
    return kept + [GroupSpec(MERGED_GROUP, sum(group.expected for group in hidden))], labels


@dataclass(frozen=True)
class ScoredItem:
    key: str
    label: str
    points: Fraction
    average: Fraction | None  # mean points earned over valid answers


def scored_items(tally: Tally, subject: SubjectSpec) -> tuple[list[ScoredItem], Fraction | None]:
    """For a 百分制 questionnaire, return each item's average points and the total."""
    questionnaire = tally.questionnaire
    results = []
    for item in tally.items_for(subject):
        counts = tally.pooled(subject.id, item.key)
        average = None
        if counts.valid:
            earned = sum(
                questionnaire.points_for(item.key, option) * n
                for option, n in counts.options.items()
            )
            average = Fraction(earned) / counts.valid
        results.append(ScoredItem(item.key, item.label, item.points or Fraction(0), average))
    averages = [r.average for r in results]
    total = sum(averages, Fraction(0)) if averages and None not in averages else None
    return results, total
