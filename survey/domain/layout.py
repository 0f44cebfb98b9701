"""A closed session's ballots in compact form: one byte per line of the ballot layout.

The close stores each ballot's ratings as bytes on the ballot's own row: byte k is the
answer on line k of the session's layout (a subject and an item), 0 for a blank line (an
abstention) and c for the c-th option. The layout is stored with the session when the close
commits, so reading a ballot back never depends on re-deriving the questionnaire. Thirty
ratings are then 30 bytes in one row instead of thirty rows, each with its own index entries
and foreign-key checks.

Plain data in, plain data out: the service layer reads and writes the database.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from .questionnaire import Questionnaire

MAX_OPTIONS = 255  # a byte per line, 0 being the blank


class LayoutError(ValueError):
    """Ratings that do not fit the layout (wrong length, unknown line or option)."""


@dataclass(frozen=True)
class BallotLayout:
    """The lines (subject id, item key) and options a session's ratings are coded by."""

    lines: tuple[tuple[int, str], ...]
    options: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.options) > MAX_OPTIONS:
            raise LayoutError(f"more than {MAX_OPTIONS} distinct answers to one questionnaire")

    @classmethod
    def of(cls, lines: Iterable[Sequence], options: Iterable[str]) -> "BallotLayout":
        return cls(tuple((int(s), str(i)) for s, i in lines), tuple(str(o) for o in options))

    @classmethod
    def for_questionnaire(
        cls, questionnaire: Questionnaire, subjects: Iterable[tuple[int, str]]
    ) -> "BallotLayout":
        """Every line the questionnaire puts on the ballot of these (subject id, kind), in the
        seal's canonical order (by subject id, then item), and its options sorted."""
        lines = sorted(
            (subject_id, item.key)
            for subject_id, kind in subjects
            for item in questionnaire.items_for(kind)
        )
        return cls.of(lines, sorted(questionnaire.option_keys()))

    @classmethod
    def from_document(cls, document: Mapping | None) -> "BallotLayout":
        """The layout as stored with the session ({"lines": [[s, i], …], "options": […]})."""
        if not document:
            return cls((), ())
        return cls.of(document["lines"], document["options"])

    def document(self) -> dict:
        return {"lines": [[s, i] for s, i in self.lines], "options": list(self.options)}

    @cached_property
    def digest(self) -> bytes:
        """Eight bytes that name this layout: a sealed ballot carries them, so the close never
        reads ratings by a layout other than the one they were coded by."""
        text = json.dumps(
            self.document(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(text.encode()).digest()[:8]

    @cached_property
    def slots(self) -> dict[tuple[int, str], int]:
        return {line: slot for slot, line in enumerate(self.lines)}

    @cached_property
    def codes(self) -> dict[str, int]:
        return {option: code for code, option in enumerate(self.options, start=1)}

    @cached_property
    def code_bytes(self) -> bytes:
        """Every byte a line may hold (blank and each option's code), to strip with translate."""
        return bytes(range(len(self.options) + 1))

    @property
    def width(self) -> int:
        return len(self.lines)

    @cached_property
    def blank(self) -> bytes:
        """A ballot that rates nothing (a 废票)."""
        return bytes(self.width)

    def encode(self, ratings: Mapping[tuple[int, str], str]) -> bytes:
        """{(subject id, item): option} as bytes; a line or option outside the layout is refused."""
        slots, codes = self.slots, self.codes
        values = bytearray(self.width)
        for line, option in ratings.items():
            if line not in slots or option not in codes:
                raise LayoutError(f"{line} = {option!r} is not on the ballot")
            values[slots[line]] = codes[option]
        return bytes(values)

    def decode(self, values: bytes) -> dict[tuple[int, str], str]:
        """The ratings as {(subject id, item): option}, blank lines left out."""
        if len(values) != self.width:
            raise LayoutError(f"{len(values)} bytes for a layout of {self.width} lines")
        options = self.options
        try:
            pairs = zip(self.lines, values, strict=True)
            return {line: options[code - 1] for line, code in pairs if code}
        except IndexError:
            raise LayoutError("a rating code outside the layout's options") from None


@dataclass
class RatingCounter:
    """Counts compact ballots per rater group and line, a chunk at a time (memory stays flat).

    `add` takes one group's ballots; each line's choices are counted in C (zip and Counter),
    not ballot by ballot in Python: 100,000 ballots × 30 lines count in a fraction of a second.
    """

    layout: BallotLayout
    received: Counter = field(default_factory=Counter)
    blank: Counter = field(default_factory=Counter)
    _lines: dict = field(default_factory=dict)

    def add(self, group, ballots: Sequence[bytes]) -> None:
        width = self.layout.width
        if any(len(values) != width for values in ballots):
            raise LayoutError(f"ratings not {width} bytes long")
        self.received[group] += len(ballots)
        self.blank[group] += list(ballots).count(self.layout.blank)
        per_line = self._lines.setdefault(group, [Counter() for _ in range(width)])
        # No ballots, no columns: zip(*[]) is empty, hence strict=False outside.
        for counter, column in zip(per_line, zip(*ballots, strict=True), strict=False):
            counter.update(column)

    def add_rows(self, rows: Iterable[tuple]) -> None:
        """Add (group, ratings) pairs in any order."""
        by_group: dict = {}
        for group, values in rows:
            by_group.setdefault(group, []).append(values)
        for group, ballots in by_group.items():
            self.add(group, ballots)

    def counts(self) -> Iterator[tuple]:
        """(group, subject id, item, option, how many) for every option chosen at least once."""
        options = self.layout.options
        for group, per_line in self._lines.items():
            for (subject_id, item), counter in zip(self.layout.lines, per_line, strict=True):
                for code, n in counter.items():
                    if code:
                        yield group, subject_id, item, options[code - 1], n
