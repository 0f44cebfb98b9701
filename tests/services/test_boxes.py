"""Sealed boxes (survey/boxes.py): what opens, what does not, and how ephemeral keys are shared.

A sealing process keeps its ephemeral key for SHARE_BOXES boxes within SHARE_SECONDS, so the
close pays one X25519 per group of boxes instead of one per box. Every box must still have
its own nonce, open only with its session's key, and refuse any change to its bytes; boxes of
the earlier format (a fresh ephemeral key each) must still open, in the same close.
"""

import json
import os
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from survey import boxes
from survey.boxes import KEY_BYTES, NONCE_BYTES, PAD_TO, SHARE_BOXES, Opener, seal, seal_alone
from survey.domain import plaintext
from survey.extensions import db
from survey.models import AuditEntry, Ballot, SealedBallot, SessionState
from survey.services import closing
from survey.services.ballots import Submission
from survey.services.sealing import create_session_key, private_key
from survey.services.sessions import close_session
from tests.ballots import add_sealed, ratings_of


def ephemeral_of(box: bytes) -> bytes:
    return box[1 : 1 + KEY_BYTES]


def nonce_of(box: bytes) -> bytes:
    return box[1 + KEY_BYTES : 1 + KEY_BYTES + NONCE_BYTES]


@pytest.fixture
def fresh_sharing(monkeypatch):
    """No ephemeral key left over from other tests in this process."""
    monkeypatch.setattr(boxes, "_ephemerals", {})


def test_boxes_open_to_their_plaintexts_and_nothing_else_opens(app, fresh_sharing):
    public = create_session_key(990_001)
    stranger = create_session_key(990_002)
    opener = Opener(private_key(990_001))
    rng = random.Random(3)
    texts = [f"第{n}张".encode() * rng.randint(0, 60) for n in range(300)]
    sealed = [seal(public, text) for text in texts]
    assert [opener.open(box) for box in sealed] == texts
    # The length gives away only a multiple of PAD_TO: at most 60 × 9 bytes here, two sizes.
    assert {len(box) % PAD_TO for box in sealed} == {1 + KEY_BYTES + NONCE_BYTES + 16}
    assert len({len(box) for box in sealed}) == 3

    box = sealed[7]
    refused = {
        "another session's box": seal(stranger, texts[7]),
        "empty": b"",
        "shorter than any box": os.urandom(20),
        "random bytes of a box's length": os.urandom(len(box)),
        "a byte of the ciphertext changed": box[:-20] + bytes([box[-20] ^ 1]) + box[-19:],
        "the nonce changed": box[: 1 + KEY_BYTES] + os.urandom(NONCE_BYTES) + box[45:],
        "another group's ephemeral key": box[:1] + os.urandom(KEY_BYTES) + box[33:],
        "a low-order ephemeral key": box[:1] + bytes(KEY_BYTES) + box[33:],
        "the format byte changed": bytes([1]) + box[1:],
        "cut short": box[:-PAD_TO],
        "a byte added": box + b"\0",
    }
    for name, bad in refused.items():
        assert opener.open_or_none(bad) is None, name
        with pytest.raises(ValueError):
            opener.open(bad)
    assert opener.open(box) == texts[7]  # a refused box left the opener as it was


def test_a_process_shares_an_ephemeral_key_for_a_bounded_group_of_boxes(
    app, fresh_sharing, monkeypatch
):
    public = create_session_key(990_003)
    other_session = create_session_key(990_004)
    sealed = [seal(public, b"x") for _ in range(SHARE_BOXES * 3 + 5)]
    groups = Counter(ephemeral_of(box) for box in sealed)
    assert sorted(groups.values()) == [5, SHARE_BOXES, SHARE_BOXES, SHARE_BOXES]
    assert len({nonce_of(box) for box in sealed}) == len(sealed)  # a nonce of its own each
    assert ephemeral_of(seal(other_session, b"x")) not in groups  # a key per session

    # A minute later the key is replaced, however few boxes it has sealed.
    last = ephemeral_of(sealed[-1])
    assert ephemeral_of(seal(public, b"x")) == last
    now = boxes.time.monotonic()
    monkeypatch.setattr(boxes.time, "monotonic", lambda: now + boxes.SHARE_SECONDS + 1)
    assert ephemeral_of(seal(public, b"x")) != last

    # So is it in a forked child: two processes never seal under one ephemeral key.
    current = ephemeral_of(seal(public, b"x"))
    monkeypatch.setattr(boxes.os, "getpid", lambda: -1)
    assert ephemeral_of(seal(public, b"x")) != current


def test_the_opener_computes_one_exchange_per_group(app, fresh_sharing, monkeypatch):
    public = create_session_key(990_005)
    sealed = [seal(public, str(n).encode()) for n in range(SHARE_BOXES * 4)]
    opener = Opener(private_key(990_005))
    exchanges = []
    exchange = opener._private.exchange

    def counted(peer):
        exchanges.append(peer)
        return exchange(peer)

    monkeypatch.setattr(
        opener, "_private", type("Counted", (), {"exchange": staticmethod(counted)})
    )
    assert [opener.open(box) for box in reversed(sealed)] == [
        str(n).encode() for n in reversed(range(SHARE_BOXES * 4))
    ]
    assert len(exchanges) == 4


def test_the_box_keys_are_the_hkdf_of_the_shared_secret():
    """Both formats derive their key with hmac.digest: exactly HKDF-SHA256 (RFC 5869)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from survey.boxes import SEAL_INFO, SEAL_INFO_SHARED, _box_key

    for info in (SEAL_INFO, SEAL_INFO_SHARED):
        for _ in range(10):
            shared, ephemeral, recipient = os.urandom(32), os.urandom(32), os.urandom(32)
            expected = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=info + ephemeral + recipient
            ).derive(shared)
            assert _box_key(shared, ephemeral, recipient, info) == expected


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


def test_a_close_counts_boxes_of_both_formats_and_refuses_strangers(app, open_session):
    session = open_session.session
    submissions = sealed_ballots(session, random.Random(5), 150)  # three groups and a part
    public_key = session.ballot_public_key
    first_subject = session.subjects[0].id
    group = session.groups[1].id
    # Left by earlier versions in a session open across the upgrade: a box of format 1 with
    # a format 1 (JSON) plaintext, and one with the compact plaintext.
    old = {"g": group, "p": True, "r": [[first_subject, "overall", "poor"]]}
    old |= {"c": [], "o": "旧版本提交"}
    layout = session.open_layout()
    compact = plaintext.pack(layout, group, False, {layout.lines[1]: "good"}, {}, "")
    stranger = create_session_key(990_006)
    db.session.add_all(
        [
            SealedBallot(
                session_id=session.id, box=seal_alone(public_key, json.dumps(old).encode())
            ),
            SealedBallot(session_id=session.id, box=seal_alone(public_key, compact)),
            SealedBallot(session_id=session.id, box=seal(stranger, compact)),
        ]
    )
    db.session.commit()

    assert close_session(session, None) == 152
    ballots = db.session.scalars(sa.select(Ballot).where(Ballot.session_id == session.id)).all()
    stored = Counter(tuple(sorted(ratings_of(ballot).items())) for ballot in ballots)
    sent = Counter(tuple(sorted(s.ratings.items())) for s in submissions)
    sent[(((first_subject, "overall"), "poor"),)] += 1
    sent[((layout.lines[1], "good"),)] += 1
    assert stored == sent
    assert [b.comment for b in ballots if b.paper] == ["旧版本提交"]
    detail = db.session.scalar(
        sa.select(AuditEntry.detail).where(AuditEntry.action == "close_session")
    )
    assert "收回测评表152张" in detail and "另有1张无法开启或不符合测评表" in detail


def test_a_close_that_cannot_open_the_boxes_stays_closing_and_resumes(
    app, open_session, monkeypatch
):
    session = open_session.session
    sealed_ballots(session, random.Random(7), 12)
    monkeypatch.setattr(closing, "private_key", lambda _session_id: b"not a key")
    with pytest.raises(ValueError):
        close_session(session, None)
    db.session.rollback()
    assert session.state == SessionState.CLOSING and session.close_step == "open"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0

    monkeypatch.setattr(closing, "private_key", private_key)
    assert close_session(session, None) == 12
    assert session.state == SessionState.CLOSED
