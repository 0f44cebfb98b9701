"""sign-off by the assessment team: the result seal and its signature

Revision ID: 0005_i14
Revises: 0005_i16
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_i14'
down_revision = '0005_i16'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('eval_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('signed_off_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('team_parts_waived', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('result_seal', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('result_signature', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('eval_session', schema=None) as batch_op:
        batch_op.drop_column('result_signature')
        batch_op.drop_column('result_seal')
        batch_op.drop_column('team_parts_waived')
        batch_op.drop_column('signed_off_by')
        batch_op.drop_column('signed_off_at')
