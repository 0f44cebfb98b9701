"""Opening the sealed ballots in helper processes: the same ballots counted as in process.

A large close opens its boxes in helper processes (survey/boxes.py), one per core; a small one
in its own process. Both must count the same ballots, refuse the same boxes, keep the order
of the boxes they were given, and leave a close that fails half-way resumable.
"""

import json
import os
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from survey import boxes
from survey.boxes import CHUNK, Opener, open_all, seal
from survey.extensions import db
from survey.models import AuditEntry, Ballot, SealedBallot, SessionState
from survey.services import closing
from survey.services.ballots import Submission
from survey.services.sealing import create_session_key, private_key
from survey.services.sessions import close_session
from tests.ballots import add_sealed, ratings_of


def test_helpers_open_each_box_as_this_process_does_in_the_order_given(app):
    public = create_session_key(990_001)
    stranger = create_session_key(990_002)
    rng = random.Random(3)
    sealed = []
    for number in range(CHUNK * 2 + 321):  # three chunks, the last one short
        text = f"第{number}张".encode() * rng.randint(1, 40)
        if number % 500 == 7:
            sealed.append(seal(stranger, text))  # another session's box: does not open
        elif number % 500 == 8:
            sealed.append(os.urandom(20))  # shorter than any box
        else:
            sealed.append(seal(public, text))
    key = private_key(990_001)
    here = Opener(key)
    expected = [here.open_or_none(box) for box in sealed]
    assert expected.count(None) == 18  # boxes 7 and 8 of every 500, nine times in 4,321

    assert list(open_all(key, iter(sealed), workers=2)) == expected
    assert list(open_all(key, sealed, workers=3)) == expected  # a list will do as well
    assert list(open_all(key, [], workers=2)) == []


def test_a_helper_that_fails_fails_the_opening(app):
    public = create_session_key(990_003)
    sealed = [seal(public, b"x")] * 10
    with pytest.raises(boxes.HelperFailed, match="helper process ended early"):
        list(open_all(b"not a key", sealed, workers=2))  # the helper cannot make an Opener


@pytest.fixture(params=["in process", "helpers"])
def opening(request, app):
    """Close in this process (the default below CLOSE_WORKERS_FROM), or in two helpers (each
    test has an app of its own)."""
    if request.param == "helpers":
        app.config.update(CLOSE_WORKERS_FROM=1, CLOSE_WORKERS=2)
    return request.param


def sealed_ballots(session, rng, count) -> list[Submission]:
    layout = session.open_layout()
    options = list(layout.options)
    submissions = [
        Submission(
            layout,
            ratings={line: rng.choice(options) for line in layout.lines if rng.random() < 0.9}
            or {layout.lines[0]: options[0]},
            comments={session.subjects[1].id: f"意见{n}"} if n % 4 == 0 else {},
        )
        for n in range(count)
    ]
    add_sealed(session, submissions)
    return submissions


def test_the_close_counts_and_refuses_the_same_either_way(app, open_session, opening):
    session = open_session.session
    submissions = sealed_ballots(session, random.Random(5), 40)
    # Sealed by the earlier version (format 1, JSON) in a session left open across the upgrade.
    first_subject = session.subjects[0].id
    old = {"g": session.groups[1].id, "p": True, "r": [[first_subject, "overall", "poor"]]}
    old |= {"c": [], "o": "旧版本提交"}
    public_key = session.ballot_public_key
    stranger = create_session_key(990_004)
    db.session.add_all(
        [
            SealedBallot(session_id=session.id, box=seal(public_key, json.dumps(old).encode())),
            SealedBallot(session_id=session.id, box=seal(stranger, b"not ours")),
        ]
    )
    db.session.commit()

    assert close_session(session, None) == 41
    ballots = db.session.scalars(sa.select(Ballot).where(Ballot.session_id == session.id)).all()
    stored = Counter(tuple(sorted(ratings_of(ballot).items())) for ballot in ballots)
    sent = Counter(tuple(sorted(s.ratings.items())) for s in submissions)
    sent[(((first_subject, "overall"), "poor"),)] += 1
    assert stored == sent
    assert [b.comment for b in ballots if b.paper] == ["旧版本提交"]
    detail = db.session.scalar(
        sa.select(AuditEntry.detail).where(AuditEntry.action == "close_session")
    )
    assert "收回测评表41张" in detail and "另有1张无法开启或不符合测评表" in detail


def test_a_close_whose_helpers_cannot_start_opens_the_boxes_itself(app, open_session, monkeypatch):
    app.config.update(CLOSE_WORKERS_FROM=1, CLOSE_WORKERS=2)
    session = open_session.session
    sealed_ballots(session, random.Random(6), 12)
    monkeypatch.setattr(boxes.sys, "executable", "/nonexistent/python3")
    with pytest.raises(boxes.HelperFailed, match="did not start"):
        list(open_all(private_key(session.id), [b"box"], workers=2))

    assert close_session(session, None) == 12
    assert session.state == SessionState.CLOSED


def test_a_close_that_cannot_open_the_boxes_stays_closing_and_resumes(
    app, open_session, monkeypatch
):
    app.config.update(CLOSE_WORKERS_FROM=1, CLOSE_WORKERS=2)
    session = open_session.session
    sealed_ballots(session, random.Random(7), 12)
    # A key file that does not hold a key: the helpers end at once, and so does the retry
    # in this process.
    monkeypatch.setattr(closing, "private_key", lambda _session_id: b"not a key")
    with pytest.raises(ValueError):
        close_session(session, None)
    db.session.rollback()
    assert session.state == SessionState.CLOSING and session.close_step == "open"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0

    monkeypatch.setattr(closing, "private_key", private_key)
    assert close_session(session, None) == 12
    assert session.state == SessionState.CLOSED
