"""ballot ratings stored compactly on the ballot row; comments in ballot_comment

Revision ID: 0010_compact
Revises: 0009_json
Create Date: 2026-11-30

A ballot's ratings become one byte per line of its session's ballot layout (stored in
eval_session.ballot_layout, see survey/domain/layout.py) instead of one answer row per line;
the per-subject comments move to ballot_comment and the answer table is dropped. The sealed
document is built from the same ratings and comments either way, so seals and archives made
before still verify. The downgrade writes the answer rows back.
"""
import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0010_compact'
down_revision = '0009_json'
branch_labels = None
depends_on = None

CHUNK = 2000  # ballots converted at a time
COMMENT = 'comment'  # the answer table's item of a comment row (services.ballots.COMMENT_ITEM)


def _document_type(bind):
    return postgresql.JSONB() if bind.dialect.name == 'postgresql' else sa.JSON()


def _sessions_with_ballots(bind) -> list[int]:
    return list(bind.execute(sa.text('SELECT DISTINCT session_id FROM ballot')).scalars())


def _ballot_ids(bind, session_id: int):
    """The session's ballot ids, a chunk at a time in key order."""
    after = ''
    while True:
        ids = list(
            bind.execute(
                sa.text(
                    'SELECT id FROM ballot WHERE session_id = :s AND id > :after'
                    ' ORDER BY id LIMIT :n'
                ),
                {'s': session_id, 'after': after, 'n': CHUNK},
            ).scalars()
        )
        if not ids:
            return
        yield ids
        after = ids[-1]


def _layout_from_answers(bind, session_id: int) -> tuple[list, list]:
    """The lines and options the session's stored answers use, in the seal's order."""
    rated = (
        ' FROM answer a JOIN ballot b ON b.id = a.ballot_id WHERE b.session_id = :s'
        f" AND a.item <> '{COMMENT}' AND a.value IS NOT NULL"
    )
    lines = sorted(
        (int(s), str(i))
        for s, i in bind.execute(sa.text('SELECT DISTINCT a.subject_id, a.item' + rated),
                                 {'s': session_id})
    )
    options = sorted(
        str(v) for v in bind.execute(sa.text('SELECT DISTINCT a.value' + rated),
                                     {'s': session_id}).scalars()
    )
    if len(options) > 255:
        raise RuntimeError(f'session {session_id}: more than 255 distinct answers')
    return lines, options


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    op.add_column('eval_session', sa.Column('ballot_layout', _document_type(bind), nullable=True))
    op.add_column('ballot', sa.Column('ratings', sa.LargeBinary(), nullable=True))

    sessions = sa.table(
        'eval_session', sa.column('id', sa.Integer()),
        sa.column('ballot_layout', _document_type(bind)),
    )
    for session_id in _sessions_with_ballots(bind):
        lines, options = _layout_from_answers(bind, session_id)
        slot = {line: k for k, line in enumerate(lines)}
        code = {option: c for c, option in enumerate(options, start=1)}
        for ids in _ballot_ids(bind, session_id):
            values = {ballot_id: bytearray(len(lines)) for ballot_id in ids}
            for ballot_id, subject_id, item, value in bind.execute(
                sa.text(
                    'SELECT a.ballot_id, a.subject_id, a.item, a.value FROM answer a'
                    ' JOIN ballot b ON b.id = a.ballot_id WHERE b.session_id = :s'
                    f" AND a.ballot_id >= :first AND a.ballot_id <= :last AND a.item <> '{COMMENT}'"
                    ' AND a.value IS NOT NULL'
                ),
                {'s': session_id, 'first': ids[0], 'last': ids[-1]},
            ):
                values[ballot_id][slot[(int(subject_id), str(item))]] = code[str(value)]
            bind.execute(
                sa.text('UPDATE ballot SET ratings = :r WHERE id = :id'),
                [{'id': ballot_id, 'r': bytes(v)} for ballot_id, v in values.items()],
            )
        bind.execute(
            sessions.update()
            .where(sessions.c.id == session_id)
            .values(ballot_layout={'lines': [list(line) for line in lines], 'options': options})
        )

    # The few comment rows, held while the tables change (SQLite must rebuild ballot, which
    # it can only do once no table refers to it).
    comments = [
        {'ballot_id': b, 'subject_id': s, 'text': t or ''}
        for b, s, t in bind.execute(
            sa.text(f"SELECT ballot_id, subject_id, comment FROM answer WHERE item = '{COMMENT}'")
        )
    ]
    op.drop_index('ix_answer_comment', table_name='answer',
                  sqlite_where=sa.text("item = 'comment'"),
                  postgresql_where=sa.text("item = 'comment'"))
    op.drop_table('answer')

    if sqlite:
        # SQLite cannot make a column NOT NULL in place: build the table anew, as before but
        # for the ratings, WITHOUT ROWID as before (a rowid would keep the order of insertion).
        op.create_table('ballot_rebuilt',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('paper', sa.Boolean(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('ratings', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['rater_group.id'], name=op.f('fk_ballot_group_id_rater_group'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['eval_session.id'], name=op.f('fk_ballot_session_id_eval_session'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot')),
        sqlite_with_rowid=False
        )
        op.execute(
            'INSERT INTO ballot_rebuilt (id, session_id, group_id, paper, comment, ratings)'
            ' SELECT id, session_id, group_id, paper, comment, ratings FROM ballot'
        )
        op.drop_index('ix_ballot_session_id', table_name='ballot')
        op.drop_table('ballot')
        op.rename_table('ballot_rebuilt', 'ballot')
        op.create_index(op.f('ix_ballot_session_id'), 'ballot', ['session_id'], unique=False)
    else:
        # Every ballot got its bytes above (a 废票 all zeros): none is left NULL.
        op.alter_column('ballot', 'ratings', existing_type=sa.LargeBinary(), nullable=False)

    op.create_table('ballot_comment',
    sa.Column('ballot_id', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_ballot_comment_ballot_id_ballot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_ballot_comment_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'subject_id', name=op.f('pk_ballot_comment')),
    sqlite_with_rowid=False
    )
    if comments:
        bind.execute(
            sa.text('INSERT INTO ballot_comment (ballot_id, subject_id, text)'
                    ' VALUES (:ballot_id, :subject_id, :text)'),
            comments,
        )


def downgrade():
    bind = op.get_bind()
    # Every answer row back, held in memory while the tables change.
    rows = []
    for session_id in _sessions_with_ballots(bind):
        layout = bind.execute(
            sa.select(sa.column('ballot_layout', _document_type(bind)))
            .select_from(sa.table('eval_session'))
            .where(sa.column('id') == session_id)
        ).scalar_one()
        if isinstance(layout, str):
            layout = json.loads(layout)
        lines = [tuple(line) for line in (layout or {}).get('lines', [])]
        options = (layout or {}).get('options', [])
        for ballot_id, ratings in bind.execute(
            sa.text('SELECT id, ratings FROM ballot WHERE session_id = :s'), {'s': session_id}
        ):
            rows += [
                {'ballot_id': ballot_id, 'subject_id': s, 'item': i,
                 'value': options[c - 1], 'comment': None}
                for (s, i), c in zip(lines, bytes(ratings)) if c
            ]
    rows += [
        {'ballot_id': b, 'subject_id': s, 'item': COMMENT, 'value': None, 'comment': t}
        for b, s, t in bind.execute(
            sa.text('SELECT ballot_id, subject_id, text FROM ballot_comment')
        )
    ]
    op.drop_table('ballot_comment')
    op.drop_column('ballot', 'ratings')
    op.drop_column('eval_session', 'ballot_layout')
    op.create_table('answer',
    sa.Column('ballot_id', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_answer_ballot_id_ballot'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_answer_subject_id_subject'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ballot_id', 'subject_id', 'item', name=op.f('pk_answer')),
    sqlite_with_rowid=False
    )
    op.create_index('ix_answer_comment', 'answer', ['ballot_id'], unique=False,
                    sqlite_where=sa.text("item = 'comment'"),
                    postgresql_where=sa.text("item = 'comment'"))
    if rows:
        bind.execute(
            sa.text('INSERT INTO answer (ballot_id, subject_id, item, value, comment)'
                    ' VALUES (:ballot_id, :subject_id, :item, :value, :comment)'),
            rows,
        )
