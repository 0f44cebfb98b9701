"""The compact ballot: one byte per layout line, decoded and counted without the database."""

import pytest

from survey.domain.layout import BallotLayout, LayoutError, RatingCounter

LAYOUT = BallotLayout.of([(1, "overall"), (2, "overall"), (2, "style")], ["average", "good"])


def test_ratings_round_trip_and_blank_lines_stay_blank():
    ratings = {(1, "overall"): "good", (2, "style"): "average"}
    encoded = LAYOUT.encode(ratings)
    assert encoded == bytes([2, 0, 1])
    assert LAYOUT.decode(encoded) == ratings
    assert LAYOUT.decode(LAYOUT.blank) == {}


def test_the_layout_survives_its_stored_document():
    document = LAYOUT.document()
    assert document == {
        "lines": [[1, "overall"], [2, "overall"], [2, "style"]],
        "options": ["average", "good"],
    }
    assert BallotLayout.from_document(document) == LAYOUT


@pytest.mark.parametrize(
    "ratings", [{(3, "overall"): "good"}, {(1, "overall"): "excellent"}, {(1, "style"): "good"}]
)
def test_a_line_or_option_off_the_ballot_is_refused(ratings):
    with pytest.raises(LayoutError):
        LAYOUT.encode(ratings)


@pytest.mark.parametrize("stored", [bytes([1, 0]), bytes([1, 0, 0, 0]), bytes([3, 0, 0])])
def test_bytes_that_do_not_fit_the_layout_are_refused(stored):
    with pytest.raises(LayoutError):
        LAYOUT.decode(stored)


def test_counting_per_group_and_line_matches_counting_ballot_by_ballot():
    ballots = [
        ("干部", bytes([2, 2, 0])),
        ("干部", bytes([2, 1, 1])),
        ("代表", bytes([1, 0, 0])),
        ("代表", bytes([0, 0, 0])),
        ("干部", bytes([0, 0, 0])),
    ]
    counter = RatingCounter(LAYOUT)
    counter.add_rows(ballots[:2])
    counter.add_rows(ballots[2:])
    expected = {}
    for group, values in ballots:
        for (subject, item), option in LAYOUT.decode(values).items():
            key = (group, subject, item, option)
            expected[key] = expected.get(key, 0) + 1
    assert {(g, s, i, o): n for g, s, i, o, n in counter.counts()} == expected
    assert counter.received == {"干部": 3, "代表": 2}
    assert counter.blank == {"干部": 1, "代表": 1}


def test_ballots_of_another_width_are_not_counted():
    with pytest.raises(LayoutError):
        RatingCounter(LAYOUT).add("干部", [bytes([1, 1])])
