"""team parts, unit facts and unit results as JSON columns

Revision ID: 0009_json
Revises: 0008_tally
Create Date: 2026-11-29

The questionnaire stays text: its SHA-256 is sealed over those exact bytes.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0009_json'
down_revision = '0008_tally'
branch_labels = None
depends_on = None

COLUMNS = (('eval_session', 'team_parts'), ('season_unit', 'result'), ('unit_facts', 'facts'))


def _retype(to_json: bool) -> None:
    # JSONB on PostgreSQL: plain json has no equality, so a DISTINCT over sessions would fail.
    on_postgresql = op.get_bind().dialect.name == 'postgresql'
    document = postgresql.JSONB() if on_postgresql else sa.JSON()
    to_type, from_type = (document, sa.Text()) if to_json else (sa.Text(), document)
    cast = ('jsonb' if to_json else 'text') if on_postgresql else None
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                type_=to_type,
                existing_type=from_type,
                **({'postgresql_using': f'{column}::{cast}'} if cast else {}),
            )


def upgrade():
    _retype(to_json=True)


def downgrade():
    _retype(to_json=False)
