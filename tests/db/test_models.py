"""Constraints the schema enforces on both engines, and the anonymity of ballots by construction."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from survey.extensions import db
from survey.models import (
    Ballot,
    BallotCode,
    BallotComment,
    EvalSession,
    RaterGroup,
    Role,
    SessionState,
    Subject,
    SubjectRole,
    User,
)


@pytest.fixture
def session(make_user):
    session = EvalSession(
        title="测评", owner=make_user(), rule_set_key="seed002", rule_set_version="1"
    )
    session.groups = [RaterGroup(name="中层干部", expected_count=30)]
    session.subjects = [Subject(name="领导班子", kind=SubjectRole.TEAM, position=0)]
    db.session.add(session)
    db.session.commit()
    return session


def assert_refused(row) -> None:
    db.session.add(row)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_usernames_are_unique(make_user):
    make_user("zhang")
    assert_refused(User(username="zhang", password_hash="x", role=Role.ASSESSOR))


def test_expected_count_cannot_be_negative(session):
    assert_refused(RaterGroup(session_id=session.id, name="职工代表", expected_count=-1))


def test_group_names_are_unique_within_a_session(session):
    assert_refused(RaterGroup(session_id=session.id, name="中层干部", expected_count=3))


def test_subject_positions_are_unique_within_a_session(session):
    assert_refused(Subject(session_id=session.id, name="张三", kind=SubjectRole.MEMBER, position=0))


def test_min_group_size_never_below_three(session):
    session.min_group_size = 2
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_empty_title_is_refused(make_user):
    assert_refused(
        EvalSession(title="", owner=make_user(), rule_set_key="seed002", rule_set_version="1")
    )


def test_unknown_state_is_refused_by_the_database(session):
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("UPDATE eval_session SET state = 'paused' WHERE id = :id"), {"id": session.id}
        )
        db.session.commit()
    db.session.rollback()


def test_unknown_state_is_refused_by_the_model(session):
    session.state = "paused"
    with pytest.raises(StatementError):
        db.session.commit()
    db.session.rollback()


def test_code_hashes_are_unique(session):
    group = session.groups[0]
    db.session.add(BallotCode(session_id=session.id, group_id=group.id, code_hash="a" * 64))
    db.session.commit()
    assert_refused(BallotCode(session_id=session.id, group_id=group.id, code_hash="a" * 64))


def test_a_comment_must_belong_to_an_existing_subject(session):
    ballot = Ballot(session_id=session.id, group_id=session.groups[0].id, ratings=b"\1")
    db.session.add(ballot)
    db.session.commit()
    assert_refused(BallotComment(ballot_id=ballot.id, subject_id=999_999, text="意见"))


def test_a_ballot_must_carry_its_ratings(session):
    assert_refused(Ballot(session_id=session.id, group_id=session.groups[0].id))


def test_deleting_a_session_removes_its_ballots(session):
    ballot = Ballot(session_id=session.id, group_id=session.groups[0].id, ratings=b"\1")
    db.session.add(ballot)
    db.session.flush()
    db.session.add(BallotComment(ballot_id=ballot.id, subject_id=session.subjects[0].id, text="好"))
    db.session.commit()
    db.session.delete(session)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BallotComment)) == 0


def test_new_session_starts_as_draft(session):
    assert session.state == SessionState.DRAFT
    assert session.expected_total == 30


FORBIDDEN_ON_BALLOTS = ("code", "user", "time", "_at", "date", "ip", "agent", "seq", "order")


@pytest.mark.parametrize("model", [Ballot, BallotComment])
def test_ballots_hold_no_code_person_time_address_or_sequence(model):
    columns = {column.name for column in model.__table__.columns}
    leaks = {c for c in columns for word in FORBIDDEN_ON_BALLOTS if word in c}
    assert not leaks
    foreign = {fk.column.table.name for fk in model.__table__.foreign_keys}
    assert foreign <= {"eval_session", "rater_group", "ballot", "subject"}
    for column in model.__table__.primary_key.columns:
        assert not (isinstance(column.type, sa.Integer) and column.autoincrement is True)


def test_ballot_ids_are_random_not_sequential(session):
    ballots = [
        Ballot(session_id=session.id, group_id=session.groups[0].id, ratings=b"\1")
        for _ in range(20)
    ]
    db.session.add_all(ballots)
    db.session.commit()
    ids = [ballot.id for ballot in ballots]
    assert len(set(ids)) == 20
    assert ids != sorted(ids)
    assert all(len(i) == 32 for i in ids)


@pytest.mark.engine_specific
def test_sqlite_ballot_tables_have_no_rowid(engine_name):
    if engine_name != "sqlite":
        pytest.skip("SQLite only")
    for table in ("ballot", "ballot_comment"):
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(sa.text(f"SELECT rowid FROM {table}"))  # noqa: S608
        db.session.rollback()


@pytest.mark.engine_specific
def test_sqlite_is_set_up_for_several_workers(engine_name):
    if engine_name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
        assert pragma("PRAGMA busy_timeout").scalar() >= 5000
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA secure_delete").scalar() == 1
