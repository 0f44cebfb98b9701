"""stored tally counted at close; partial index on comment answers

Revision ID: 0008_tally
Revises: 0005_i14
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_tally'
down_revision = '0005_i14'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tally_group',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('blank', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['rater_group.id'], name=op.f('fk_tally_group_group_id_rater_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['eval_session.id'], name=op.f('fk_tally_group_session_id_eval_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'group_id', name=op.f('pk_tally_group'))
    )
    op.create_table('tally_count',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['rater_group.id'], name=op.f('fk_tally_count_group_id_rater_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['eval_session.id'], name=op.f('fk_tally_count_session_id_eval_session'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_tally_count_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'group_id', 'subject_id', 'item', 'value', name=op.f('pk_tally_count'))
    )
    # Sessions closed before this revision have no stored tally: the results count their
    # answers with GROUP BY, as before.
    op.create_index('ix_answer_comment', 'answer', ['ballot_id'], unique=False,
                    sqlite_where=sa.text("item = 'comment'"),
                    postgresql_where=sa.text("item = 'comment'"))


def downgrade():
    op.drop_index('ix_answer_comment', table_name='answer',
                  sqlite_where=sa.text("item = 'comment'"),
                  postgresql_where=sa.text("item = 'comment'"))
    op.drop_table('tally_count')
    op.drop_table('tally_group')
