"""Ballot codes: format, randomness, counts and voiding, never which code voted."""

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from survey import links
from survey.extensions import db
from survey.models import BallotCode, CodeStatus, SubjectRole
from survey.security import CODE_ALPHABET, CODE_LENGTH, code_hash, display_code, unseal_code
from survey.services import ServiceError, roster
from survey.services import codes as code_service
from survey.services import sessions as sessions_service
from survey.services.roster import SubjectInput
from survey.services.sessions import GroupInput, SessionInput


@pytest.fixture
def draft(app, make_user):
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="测评码测试"))
    roster.add_subject(session, SubjectInput("领导班子", "", SubjectRole.TEAM), owner)
    sessions_service.add_group(session, GroupInput("县级领导干部", 500), owner)
    sessions_service.add_group(session, GroupInput("党代表", 20), owner)
    return session, owner


def test_codes_are_distinct_from_the_unambiguous_alphabet_and_ten_long(app, draft):
    session, owner = draft
    codes = code_service.issue_codes(session.groups[0], 500, owner)
    assert len(codes) == len(set(codes)) == 500
    assert CODE_ALPHABET == "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    assert not set("01ILO") & set(CODE_ALPHABET)
    assert all(len(code) == CODE_LENGTH == 10 for code in codes)
    assert all(set(code) <= set(CODE_ALPHABET) for code in codes)
    assert all(
        re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", display_code(c)) for c in codes
    )
    # 5000 characters from 31 symbols: every symbol turns up, none dominates (a loose check
    # that catches a broken generator, e.g. a constant or a tiny subset, not a subtle bias).
    counts = Counter("".join(codes))
    assert set(counts) == set(CODE_ALPHABET)
    assert max(counts.values()) < 3 * min(counts.values())
    # No two codes share a prefix of 6 (expected clashes ≈ 500²/2/31⁶ ≈ 1e-4).
    assert len({code[:6] for code in codes}) == 500


def test_only_hashes_and_sealed_copies_are_stored(app, draft):
    session, owner = draft
    codes = code_service.issue_codes(session.groups[1], 3, owner)
    rows = db.session.scalars(sa.select(BallotCode).where(BallotCode.session_id == session.id))
    key = app.config["BALLOT_CODE_KEY"]
    stored = list(rows)
    for row in stored:
        assert row.code_hash not in codes and all(code not in row.code_hash for code in codes)
        assert all(code not in row.code_sealed for code in codes)
    assert sorted(unseal_code(key, row.code_sealed) for row in stored) == sorted(codes)


@pytest.mark.parametrize("count", [0, -1, 2001])
def test_batch_size_is_bounded(app, draft, count):
    session, owner = draft
    with pytest.raises(ServiceError, match="1到2000"):
        code_service.issue_codes(session.groups[0], count, owner)


def mark_used(app, code: str) -> None:
    """Spend a code as a cast ballot would."""
    digest = code_hash(app.config["BALLOT_CODE_KEY"], code)
    row = db.session.scalar(sa.select(BallotCode).where(BallotCode.code_hash == digest))
    row.status = CodeStatus.USED
    db.session.commit()


def test_counts_per_group_never_name_a_code(app, draft):
    session, owner = draft
    first = code_service.issue_codes(session.groups[0], 4, owner)
    second = code_service.issue_codes(session.groups[1], 2, owner)
    mark_used(app, second[0])
    code_service.void_codes(session, first[3], owner)
    counts = code_service.code_counts(session)
    assert [(c.group.name, c.issued, c.unused, c.used, c.void) for c in counts] == [
        ("县级领导干部", 4, 3, 0, 1),
        ("党代表", 2, 1, 1, 0),
    ]


def test_voiding_is_all_or_nothing_and_does_not_tell_used_from_unknown(app, draft):
    session, owner = draft
    codes = code_service.issue_codes(session.groups[0], 3, owner)
    mark_used(app, codes[1])
    typed = f"{codes[0]}\n{codes[1]}\nABCDE-FGHJK\nnot a code"
    with pytest.raises(ServiceError) as refused:
        code_service.void_codes(session, typed, owner)
    message = str(refused.value)
    assert "没有作废任何测评码" in message
    assert "第2行" in message and "第3行" in message and "第4行" in message
    assert "第1行" not in message
    # The used code and the unknown one get the very same words.
    assert f"{display_code(codes[1])} 不是本测评中未使用的测评码" in message
    assert "ABCDE-FGHJK 不是本测评中未使用的测评码" in message
    db.session.rollback()
    statuses = Counter(
        db.session.scalars(sa.select(BallotCode.status).where(BallotCode.session_id == session.id))
    )
    assert statuses == {CodeStatus.UNUSED: 2, CodeStatus.USED: 1}


def test_vote_url_is_shared_with_the_cli(app):
    from survey.cli import commands

    assert commands.vote_url is links.vote_url
    assert links.vote_url("abcdefghjk") == "http://vote.example.test/v/ABCDE-FGHJK"
    assert links.vote_url("ABCDEFGHJK", "http://h:5000/") == "http://h:5000/v/ABCDE-FGHJK"
    assert links.entry_url() == "http://vote.example.test/v"
