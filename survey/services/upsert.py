"""INSERT … ON CONFLICT DO UPDATE, written once for SQLite and PostgreSQL alike."""

from sqlalchemy.dialects import postgresql, sqlite

from survey.extensions import db


def upsert(table, values: dict, *, key: list, set_: dict, where=None):
    """Insert a row, or update the row whose `key` columns clash (only `where` it holds)."""
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values(**values)
        .on_conflict_do_update(index_elements=key, set_=set_, where=where)
    )
