"""The migrations build the schema from empty and match the models exactly."""

import json

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey.domain.seal import seal_of
from survey.extensions import db


def test_migrated_schema_has_no_drift_from_the_models(app):
    # The session fixture built this database with `upgrade()` from empty.
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_are_at_head(app):
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == script.get_current_head()


def test_json_columns_keep_their_values_through_the_migration(app, make_user):
    """0009 turns the team parts (and the season's facts and results) from text into JSON."""
    from flask_migrate import downgrade, upgrade

    from survey.models import EvalSession
    from survey.services.sessions import SessionInput, create_session

    owner = make_user()
    session = create_session(owner, SessionInput(title="迁移前录入的其他部分"))
    session.team_parts = {"conduct": "12.5", "prevention": "18"}
    db.session.commit()
    session_id = session.id
    db.session.close()

    downgrade(revision="0008_tally")
    with db.engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT team_parts FROM eval_session WHERE id = :id"), {"id": session_id}
        ).scalar_one()
    assert isinstance(stored, str) and '"conduct": "12.5"' in stored  # text, as before 0009
    upgrade()

    migrated = db.session.get(EvalSession, session_id).team_parts
    db.session.commit()
    assert migrated == {"conduct": "12.5", "prevention": "18"}
    test_migrated_schema_has_no_drift_from_the_models(app)


def test_ballots_stored_as_answer_rows_are_compacted_and_their_seals_still_verify(
    app, open_session
):
    """0010 turns answer rows into compact ratings: seals and archives made before verify.

    The session is closed and signed off, its archive exported; the downgrade stores its
    ballots as before 0010 (one answer row per rating and per comment), checked here as the
    old readers read them; the upgrade converts them back, and the old archive, the close
    seal and the stored tally all still hold.
    """
    from flask_migrate import downgrade, upgrade

    from survey.domain.evaluation import StoredBallot
    from survey.models import EvalSession
    from survey.services.archive import archive_bytes, verify_upload
    from survey.services.ballots import Submission
    from survey.services.results import (
        compute_results,
        seal_document,
        stored_ballots,
        stored_tally_holds,
    )
    from survey.services.sessions import close_session
    from survey.services.signoff import sign_off
    from tests.ballots import add_sealed

    session = open_session.session
    questionnaire = session.frozen_questionnaire()
    options = sorted(questionnaire.option_keys())
    lines = [(s.id, i.key) for s in session.subjects for i in questionnaire.items_for(s.kind)]
    first = session.subjects[0].id
    for group in (0, 1):
        add_sealed(
            session,
            [
                Submission(
                    session.open_layout(),
                    ratings={
                        line: options[(n + k) % len(options)]
                        for k, line in enumerate(lines)
                        if (n + k) % 5  # some lines left blank
                    },
                    comments={first: f'他说"很好"\\继续，第{n}张'} if n % 3 == 0 else {},
                    overall_comment="第一行\r\n第二行" if n == 4 else "",
                )
                for n in range(7)
            ],
            group,
        )
    close_session(session, None)
    sign_off(session, None, waive_parts=True, signer="考核组")
    db.session.commit()
    before = compute_results(session)
    archive = archive_bytes(before)
    seal, session_id = session.seal, session.id
    names = {g.id: g.name for g in session.groups}
    ballots = sorted(json.dumps(b.canonical(), sort_keys=True) for b in stored_ballots(session))
    assert len(ballots) == 14
    db.session.close()

    downgrade(revision="0009_json")
    with db.engine.connect() as connection:
        assert "ratings" not in {c["name"] for c in sa.inspect(connection).get_columns("ballot")}
        old = {
            ballot_id: StoredBallot(names[group_id], overall_comment=comment or "")
            for ballot_id, group_id, comment in connection.execute(
                sa.text("SELECT id, group_id, comment FROM ballot WHERE session_id = :s"),
                {"s": session_id},
            )
        }
        # As stored_ballots read them before 0010.
        for ballot_id, subject_id, item, value, comment in connection.execute(
            sa.text("SELECT ballot_id, subject_id, item, value, comment FROM answer")
        ):
            if item == "comment":
                old[ballot_id].comments[subject_id] = comment or ""
            else:
                old[ballot_id].ratings[(subject_id, item)] = value
    assert sorted(json.dumps(b.canonical(), sort_keys=True) for b in old.values()) == ballots
    upgrade()

    session = db.session.get(EvalSession, session_id)
    assert session.ballot_layout["options"] == options
    assert (
        sorted(json.dumps(b.canonical(), sort_keys=True) for b in stored_ballots(session))
        == ballots
    )
    assert seal_of(seal_document(session)) == seal
    assert stored_tally_holds(session)
    after = compute_results(session)
    assert after.tally.counts == before.tally.counts
    verdict = verify_upload(archive)
    assert verdict.ok, verdict.text()
    db.session.commit()
    test_migrated_schema_has_no_drift_from_the_models(app)
