"""The migrations build the schema from empty and match the models exactly."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
