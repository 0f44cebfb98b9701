"""per-user session version; failed logins per account and client network

Revision ID: 0005_i16
Revises: 0005_i13
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


revision = '0005_i16'
down_revision = '0005_i13'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), nullable=False, server_default='1')
        )
    op.create_table('login_failure',
    sa.Column('bucket', sa.String(length=64), nullable=False),
    sa.Column('minute', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket', 'minute', name=op.f('pk_login_failure'))
    )


def downgrade():
    op.drop_table('login_failure')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_version')
