"""sealed ballots, closing state, paper entry digests

Revision ID: 0005_i13
Revises: 0004
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_i13'
down_revision = '0004'
branch_labels = None
depends_on = None

OLD_STATES = ('draft', 'open', 'closed')
NEW_STATES = ('draft', 'open', 'closing', 'closed')


def _state(values):
    return sa.Enum(*values, name='sessionstate', native_enum=False, create_constraint=True,
                   length=24)


def upgrade():
    op.create_table('sealed_ballot',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('box', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['eval_session.id'], name=op.f('fk_sealed_ballot_session_id_eval_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_ballot')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sealed_ballot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sealed_ballot_session_id'), ['session_id'], unique=False)

    with op.batch_alter_table('eval_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ballot_public_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('close_step', sa.String(length=16), nullable=True))
        batch_op.drop_constraint(op.f('ck_eval_session_sessionstate'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_eval_session_sessionstate'), sa.column('state').in_(NEW_STATES)
        )

    # A pending first entry held its answers in clear; it cannot be sealed here (the session
    # key is made by the application), so it is dropped: the clerks key that paper again.
    op.execute("DELETE FROM paper_entry")
    with op.batch_alter_table('paper_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=False))


def downgrade():
    op.execute("DELETE FROM paper_entry")
    with op.batch_alter_table('paper_entry', schema=None) as batch_op:
        batch_op.drop_column('digest')
    op.execute("UPDATE eval_session SET state = 'closed' WHERE state = 'closing'")
    with op.batch_alter_table('eval_session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_eval_session_sessionstate'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_eval_session_sessionstate'), sa.column('state').in_(OLD_STATES)
        )
        batch_op.drop_column('close_step')
        batch_op.drop_column('ballot_public_key')
    with op.batch_alter_table('sealed_ballot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sealed_ballot_session_id'))
    op.drop_table('sealed_ballot')
