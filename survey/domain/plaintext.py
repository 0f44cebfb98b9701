"""What a sealed ballot holds: the plaintext inside its box, written at submit, read at close.

Format 2, since the compact ballot rows: a few bytes of header, the ratings exactly as the
close stores them (one byte per line of the session's layout, survey/domain/layout.py), then
the comments, if any:

    byte 0       2, the format
    bytes 1–8    the layout's digest: ratings are never read by another layout than theirs
    bytes 9–12   the rater group's id, unsigned, big-endian
    byte 13      1 for a paper ballot keyed in by clerks, 0 for a phone's
    next width   the ratings: 0 blank, c the c-th option
    the rest     only when there are comments: UTF-8 JSON [overall, [[subject id, text], …]]

The close opens 100,000 of them: the ratings need no parsing (a slice and one `translate`
to check every byte), where format 1, a JSON document {"g", "p", "r", "c", "o"} of 30
[subject, item, option] lists, cost more to parse than its box cost to open. Format 1 is
still read, for ballots sealed by an earlier version in a session left open across the
upgrade: its first byte is "{", never 2.

Structure only: whether the group, subjects and lengths belong to the session is the
close's check (survey/services/closing.py).
"""

import json
import struct
from collections.abc import Mapping
from typing import NamedTuple

from .layout import BallotLayout, LayoutError

FORMAT = 2
_HEAD = struct.Struct(">B8sIB")
# What unpack raises for a plaintext it cannot read (json's errors and LayoutError are
# ValueErrors; a missing key or an unhashable value in format 1 the other two).
UNREADABLE = (ValueError, KeyError, TypeError)


class BallotContent(NamedTuple):
    """A ballot as opened: its ratings still coded by the layout it was sealed with. (A named
    tuple: the close makes 100,000 of them, and a tuple is the cheapest to make.)"""

    group_id: int
    paper: bool
    values: bytes
    comments: tuple[tuple[int, str], ...]  # sorted by subject id, one text each at most
    overall: str


def pack(
    layout: BallotLayout,
    group_id: int,
    paper: bool,
    ratings: Mapping[tuple[int, str], str],
    comments: Mapping[int, str],
    overall: str,
) -> bytes:
    """The plaintext to seal; a rating outside the layout raises LayoutError."""
    head = _HEAD.pack(FORMAT, layout.digest, group_id, 1 if paper else 0)
    said = b""
    if comments or overall:
        said = json.dumps(
            [overall, sorted([s, t] for s, t in comments.items())],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
    return head + layout.encode(ratings) + said


def unpack(data: bytes, layout: BallotLayout) -> BallotContent:
    """Read a plaintext of either format; one of UNREADABLE if it is not one of this layout."""
    if data[:1] == b"{":
        return _unpack_json(data, layout)
    end = _HEAD.size + layout.width
    if len(data) < end:
        raise LayoutError("plaintext too short")
    version, digest, group_id, paper = _HEAD.unpack_from(data)
    if version != FORMAT or digest != layout.digest or paper > 1:
        raise LayoutError("not a ballot of this layout")
    values = data[_HEAD.size : end]
    if values.translate(None, layout.code_bytes):  # the width is right: len(data) >= end
        raise LayoutError("a rating code outside the layout's options")
    overall, comments = _comments(json.loads(data[end:])) if len(data) > end else ("", ())
    return BallotContent(group_id, paper == 1, values, comments, overall)


def _comments(said) -> tuple[str, tuple[tuple[int, str], ...]]:
    if not (isinstance(said, list) and len(said) == 2 and isinstance(said[1], list)):
        raise ValueError("comments are not [overall, [[subject, text], …]]")
    overall, pairs = said
    if not isinstance(overall, str):
        raise ValueError("overall comment is not text")
    texts: dict[int, str] = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError("a comment is not [subject, text]")
        subject_id, text = pair
        if type(subject_id) is not int or not isinstance(text, str) or subject_id in texts:
            raise ValueError("a comment's subject is not an id, or is there twice")
        texts[subject_id] = text
    return overall, tuple(sorted(texts.items()))


def _unpack_json(data: bytes, layout: BallotLayout) -> BallotContent:
    """Format 1: {"g": group, "p": paper, "r": [[s, i, option], …], "c": [[s, t], …], "o": …}."""
    document = json.loads(data)
    if not isinstance(document, dict):
        raise ValueError("not a ballot document")
    group_id, paper = document["g"], document["p"]
    if type(group_id) is not int or not isinstance(paper, bool):
        raise ValueError("group or paper flag of the wrong type")
    values = bytearray(layout.width)
    slots, codes = layout.slots, layout.codes
    for rating in document["r"]:
        if not (isinstance(rating, list) and len(rating) == 3):
            raise ValueError("a rating is not [subject, item, option]")
        subject_id, item, option = rating
        slot = slots.get((subject_id, item)) if type(subject_id) is int else None
        code = codes.get(option)
        if slot is None or code is None or values[slot]:  # unknown, or the line twice
            raise LayoutError(f"{rating!r} is not on the ballot, or is there twice")
        values[slot] = code
    overall, comments = _comments([document["o"], document["c"]])
    return BallotContent(group_id, paper, bytes(values), comments, overall)
