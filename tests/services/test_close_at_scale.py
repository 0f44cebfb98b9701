"""The close at scale: a compact batch, a streamed seal, a stored tally, bulk inserts.

What the close builds from its compact batch must be exactly what the slower, obvious way
builds from the stored ballots: the same seal, the same counts, the same rows.
"""

import random
import re
from collections import Counter

import pytest
import sqlalchemy as sa

from survey.domain.layout import BallotLayout
from survey.domain.seal import seal_of
from survey.extensions import db
from survey.models import Ballot, BallotComment, SessionState, TallyCount, TallyGroup
from survey.services.anonymity import OpenedBatch
from survey.services.results import (
    _specs,
    compute_results,
    recount_tally,
    seal_document,
    seal_session,
    session_comments,
    stored_ballots,
    stored_counts,
    stored_tally_holds,
)
from survey.services.sessions import close_session
from tests.vote.conftest import ballot_form, rating_fields

# Quotes, a backslash, line breaks and a tab: JSON escapes them in the seal, COPY's text
# format in PostgreSQL's bulk insert; both must come back as typed.
AWKWARD = ['他说"很好"\\继续', "第一行\r\n第二行", "制表\t符", "=SUM(A1)", "普通意见"]


def cast(client, codes, rng, comment_rate=0.5) -> None:
    for code in codes:
        fields, page = ballot_form(client, code)
        names = rating_fields(page)
        answers = {
            name: rng.choice(re.findall(rf'name="{name}" value="(\w+)"', page))
            for name in names
            if rng.random() < 0.8  # the rest abstain on this line
        }
        if not answers:
            answers[names[0]] = "good"
        for name in re.findall(r'name="(c-[\w]+)"', page):
            if rng.random() < comment_rate:
                answers[name] = rng.choice(AWKWARD)
        data = {**fields, **answers, "confirm_partial": "1"}
        assert client.post("/v/submit", data=data).status_code == 303


def test_the_close_seals_counts_and_stores_what_the_ballots_say(client, open_session):
    rng = random.Random(41)
    # 20 ballots from the first group, 3 from the second: the second is too small to show,
    # and the first is hidden with it (complementary suppression): both carry the merged label.
    cast(client, open_session.codes[:20] + open_session.codes[30:33], rng)
    session = open_session.session
    assert close_session(session, None) == 23

    # The seal hashed as a stream equals the domain's seal of the whole document.
    document = seal_document(session)
    assert session.seal == seal_of(document)
    assert {b["group"] for b in document["ballots"]} == {"其他类别（合并）"}
    assert seal_session(session, stored_ballots(session)) == session.seal
    # Comments came back byte for byte.
    comments = {c for b in stored_ballots(session) for c in b.comments.values()}
    comments |= {b.overall_comment for b in stored_ballots(session)} - {""}
    assert comments and comments <= set(AWKWARD)

    # The stored tally is the recount of the stored ballots.
    received, answers = stored_counts(session)
    assert sum(received.values()) == 23
    assert stored_tally_holds(session)
    subjects, groups = _specs(session)
    recount = recount_tally(session, session.frozen_questionnaire(), subjects, groups)
    assert compute_results(session).tally.counts == recount.counts
    assert compute_results(session).tally.received_by_group == recount.received_by_group


def test_a_changed_ballot_no_longer_matches_the_stored_tally(client, open_session):
    cast(client, open_session.codes[:8], random.Random(5), comment_rate=0)
    session = open_session.session
    close_session(session, None)
    assert stored_tally_holds(session)
    ballot = db.session.scalars(
        sa.select(Ballot).where(Ballot.session_id == session.id).limit(1)
    ).one()
    layout = BallotLayout.from_document(session.ballot_layout)
    ratings = layout.decode(ballot.ratings)
    line = next(iter(ratings))
    ratings[line] = "poor" if ratings[line] != "poor" else "good"
    ballot.ratings = layout.encode(ratings)
    db.session.flush()
    assert not stored_tally_holds(session)


def test_results_of_a_session_closed_without_a_stored_tally_are_counted(client, open_session):
    cast(client, open_session.codes[:12], random.Random(9))
    session = open_session.session
    close_session(session, None)
    stored = compute_results(session)
    db.session.execute(sa.delete(TallyCount).where(TallyCount.session_id == session.id))
    db.session.execute(sa.delete(TallyGroup).where(TallyGroup.session_id == session.id))
    assert stored_counts(session) is None
    counted = compute_results(session)
    assert counted.tally.counts == stored.tally.counts
    assert counted.subjects == stored.subjects
    assert counted.blank_ballots == stored.blank_ballots == 0


def test_the_batch_shuffles_under_fresh_ids_and_keeps_every_ballot():
    batch = OpenedBatch([(1, "overall"), (2, "overall")], ["average", "good"])
    for n in range(200):
        batch.ballots.append((1, False, f"意见{n}", bytes([n % 3, 1]), ()))
    before = Counter(batch.ballots)
    batch.shuffle()
    assert Counter(batch.ballots) == before
    assert batch.ids == sorted(batch.ids) and len(set(batch.ids)) == 200
    assert all(re.fullmatch(r"[0-9a-f]{32}", new_id) for new_id in batch.ids)
    # The new order is not the old one (the chance that it is: 1 in 200!).
    assert [b[2] for b in batch.ballots] != [f"意见{n}" for n in range(200)]


def test_ballots_already_in_clear_join_the_batch_with_lines_it_did_not_know():
    batch = OpenedBatch([(1, "overall")], ["good"])
    batch.ballots.append((1, False, None, bytes([1]), ()))
    batch.add_stored(2, True, "旧", {(1, "overall"): "poor", (3, "extra"): "good"}, {1: "说明"})
    assert batch.lines == [(1, "overall"), (3, "extra")]
    assert batch.options == ["good", "poor"]
    batch.shuffle()
    assert sorted(batch.ballots) == [
        (1, False, None, bytes([1, 0]), ()),
        (2, True, "旧", bytes([2, 1]), ((1, "说明"),)),
    ]


def test_comments_are_read_from_their_own_table(client, open_session):
    cast(client, open_session.codes[:6], random.Random(2))
    session = open_session.session
    close_session(session, None)
    per_subject, _overall = session_comments(session)
    stored = [c for b in stored_ballots(session) for c in b.comments.values()]
    assert stored and sorted(c for texts in per_subject.values() for c in texts) == sorted(stored)
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(BallotComment))
    assert rows == len(stored)  # one row per comment, none for the ratings


def test_a_close_whose_seal_texts_fail_writes_nothing_and_resumes(
    client, open_session, monkeypatch
):
    """The seal's ballot texts are built in a thread while the batch is written: its failure
    must fail the close's transaction like any other, and the close then resume."""
    from survey.services import results
    from survey.services.closing import finish_close

    cast(client, open_session.codes[:6], random.Random(3))
    session = open_session.session

    def broken(_batch, _group_text):
        raise RuntimeError("texts failed")

    monkeypatch.setattr(results, "_batch_texts", broken)
    with pytest.raises(RuntimeError, match="texts failed"):
        close_session(session, None)
    db.session.rollback()
    assert session.state == SessionState.CLOSING and session.close_step == "open"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0

    monkeypatch.undo()
    assert finish_close(session.id) == 6
    db.session.refresh(session)
    assert session.state == SessionState.CLOSED
    assert session.seal == seal_of(seal_document(session))
