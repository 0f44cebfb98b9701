"""team parts, unit facts and unit results as JSON columns

Revision ID: 0009_json
Revises: 0008_tally
Create Date: 2026-11-29

The questionnaire stays text: its SHA-256 is sealed over those exact bytes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_json'
down_revision = '0008_tally'
branch_labels = None
depends_on = None

COLUMNS = (('eval_session', 'team_parts'), ('season_unit', 'result'), ('unit_facts', 'facts'))


def _retype(to_type, from_type, cast: str) -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                type_=to_type,
                existing_type=from_type,
                **({'postgresql_using': f'{column}::{cast}'} if postgresql else {}),
            )


def upgrade():
    _retype(sa.JSON(), sa.Text(), 'json')


def downgrade():
    _retype(sa.Text(), sa.JSON(), 'text')
