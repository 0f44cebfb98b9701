"""The seal changes when anything sealed changes, and verifies when nothing did."""

import copy

from survey.domain.seal import canonical_ballot, seal_of, sealed_document, verify


def document(ballots):
    return sealed_document(
        {"id": 1, "title": "测评"},
        {"key": "q", "version": "1"},
        {"id": "r", "version": "1", "sha256": "ab"},
        ballots,
    )


BALLOTS = [
    canonical_ballot("中层干部", {(1, "overall"): "good"}, {}, ""),
    canonical_ballot("县级领导", {(1, "overall"): "poor"}, {1: "意见"}, "总体意见"),
]


def test_seal_does_not_depend_on_ballot_order():
    assert seal_of(document(BALLOTS)) == seal_of(document(list(reversed(BALLOTS))))


def test_seal_changes_when_any_ballot_changes():
    changed = copy.deepcopy(BALLOTS)
    changed[0]["ratings"][0][2] = "fairly_good"
    assert seal_of(document(changed)) != seal_of(document(BALLOTS))


def test_verify_accepts_an_untouched_archive_and_rejects_a_tampered_one():
    sealed = document(BALLOTS)
    archive = {"sealed": sealed, "seal": seal_of(sealed)}
    ok, message = verify(archive)
    assert ok and "校验通过" in message
    archive["sealed"]["ballots"][1]["ratings"][0][2] = "average"
    ok, message = verify(archive)
    assert not ok and "校验失败" in message
    assert verify({"nothing": 1})[0] is False
