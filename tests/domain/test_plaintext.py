"""The sealed ballot's plaintext: what a submit packs is what the close unpacks, and nothing else.

A malformed plaintext cannot come from our own submit, but the close must refuse it rather than
count it, whatever shape it has: every refusal here is one of plaintext.UNREADABLE.
"""

import json

import pytest

from survey.domain import plaintext
from survey.domain.layout import BallotLayout

LAYOUT = BallotLayout.of(
    [(3, "overall"), (5, "integrity"), (5, "overall")], ["average", "fairly_good", "good", "poor"]
)
RATINGS = {(3, "overall"): "good", (5, "overall"): "poor"}  # (5, "integrity") left blank


def test_what_is_packed_unpacks_the_same():
    packed = plaintext.pack(
        LAYOUT, 7, True, RATINGS, {5: "多下基层", 3: '他说"好"\\'}, "总体\r\n满意"
    )
    ballot = plaintext.unpack(packed, LAYOUT)
    assert ballot.group_id == 7 and ballot.paper is True
    assert LAYOUT.decode(ballot.values) == RATINGS
    assert ballot.values == bytes([3, 0, 4])  # good is the 3rd option, poor the 4th
    assert ballot.comments == ((3, '他说"好"\\'), (5, "多下基层"))  # sorted by subject
    assert ballot.overall == "总体\r\n满意"


def test_a_ballot_without_comments_is_header_and_ratings_only():
    packed = plaintext.pack(LAYOUT, 2**32 - 1, False, RATINGS, {}, "")
    assert len(packed) == 14 + LAYOUT.width
    ballot = plaintext.unpack(packed, LAYOUT)
    assert (ballot.group_id, ballot.paper, ballot.comments, ballot.overall) == (
        2**32 - 1,
        False,
        (),
        "",
    )


def test_the_first_format_is_still_read():
    """A box sealed by the earlier version (JSON) in a session open across the upgrade."""
    old = json.dumps(
        {
            "g": 4,
            "p": False,
            "r": [[3, "overall", "good"], [5, "overall", "poor"]],
            "c": [[5, "多下基层"]],
            "o": "",
        },
        ensure_ascii=False,
    ).encode()
    ballot = plaintext.unpack(old, LAYOUT)
    assert ballot == plaintext.unpack(
        plaintext.pack(LAYOUT, 4, False, RATINGS, {5: "多下基层"}, ""), LAYOUT
    )


def test_a_rating_outside_the_layout_cannot_be_packed():
    with pytest.raises(plaintext.UNREADABLE):
        plaintext.pack(LAYOUT, 1, False, {(9, "overall"): "good"}, {}, "")
    with pytest.raises(plaintext.UNREADABLE):
        plaintext.pack(LAYOUT, 1, False, {(3, "overall"): "excellent"}, {}, "")


GOOD = plaintext.pack(LAYOUT, 7, False, RATINGS, {5: "意见"}, "")
HEAD = 14


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("empty", b""),
        ("cut inside the ratings", GOOD[: HEAD + 1]),
        ("another format", b"\x03" + GOOD[1:]),
        (
            "another layout",
            plaintext.pack(
                BallotLayout.of([(3, "overall"), (5, "x"), (6, "y")], LAYOUT.options),
                7,
                False,
                {},
                {},
                "",
            ),
        ),
        ("a rating code past the options", GOOD[:HEAD] + bytes([5, 0, 0]) + GOOD[HEAD + 3 :]),
        ("paper flag not 0 or 1", GOOD[:13] + b"\x02" + GOOD[14:]),
        ("comments not JSON", GOOD[: HEAD + 3] + b"[\xff"),
        ("comments not a pair", GOOD[: HEAD + 3] + b'["", [[5]]]'),
        ("the same subject twice", GOOD[: HEAD + 3] + b'["", [[5, "a"], [5, "b"]]]'),
        ("a subject that is not an id", GOOD[: HEAD + 3] + b'["", [[true, "a"]]]'),
        ("overall not text", GOOD[: HEAD + 3] + b"[1, []]"),
        (
            "format 1, a line twice",
            b'{"g":1,"p":false,"r":[[3,"overall","good"],[3,"overall","poor"]],"c":[],"o":""}',
        ),
        ("format 1, unknown option", b'{"g":1,"p":false,"r":[[3,"overall","best"]],"c":[],"o":""}'),
        ("format 1, unknown line", b'{"g":1,"p":false,"r":[[4,"overall","good"]],"c":[],"o":""}'),
        ("format 1, a key missing", b'{"g":1,"p":false,"r":[],"c":[]}'),
        ("format 1, group not an id", b'{"g":"1","p":false,"r":[],"c":[],"o":""}'),
        ("format 1, a rating not a triple", b'{"g":1,"p":false,"r":[[3,"overall"]],"c":[],"o":""}'),
        ("format 1, an unhashable item", b'{"g":1,"p":false,"r":[[3,["x"],"good"]],"c":[],"o":""}'),
        ("format 1, not JSON", b"{]"),
    ],
)
def test_a_malformed_plaintext_is_refused(what, data):
    with pytest.raises(plaintext.UNREADABLE):
        plaintext.unpack(data, LAYOUT)


def test_the_digest_names_the_layout():
    same = BallotLayout.of([[3, "overall"], [5, "integrity"], [5, "overall"]], LAYOUT.options)
    assert same.digest == LAYOUT.digest and len(LAYOUT.digest) == 8
    reordered = BallotLayout.of(LAYOUT.lines, list(reversed(LAYOUT.options)))
    assert reordered.digest != LAYOUT.digest
