"""Who may see what: one rule for sessions and seasons alike.

An administrator sees everything; anyone else what they own or were granted.
"""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import GrantLevel, Role, User
from survey.services import NotFound


def visible_to(user: User, model, granted_id, *order_by) -> list:
    """Rows of `model` the user may open; `granted_id` is the grant table's column naming one."""
    query = sa.select(model).order_by(*order_by)
    if user.role != Role.ADMIN:
        grant_table = granted_id.class_
        granted = sa.select(granted_id).where(grant_table.user_id == user.id)
        query = query.where(sa.or_(model.owner_id == user.id, model.id.in_(granted)))
    return list(db.session.scalars(query))


def set_grant(grant_model, level: GrantLevel, **key) -> tuple[object, GrantLevel | None]:
    """Give an account this level on a session or season: add its grant row, or change the
    level of the one it has. `key` names both (`session_id=…, user_id=…`). Return the row and
    the level it had before (None: it had none)."""
    grant = db.session.get(grant_model, key)
    if grant is None:
        grant = grant_model(level=level, **key)
        db.session.add(grant)
        return grant, None
    previous, grant.level = grant.level, level
    return grant, previous


def drop_grant(grant_model, **key):
    """Take an account's grant on a session or season away; return the row (its level is the
    one it had), or refuse with 404 when there is none."""
    grant = db.session.get(grant_model, key)
    if grant is None:
        raise NotFound("没有这项授权。")
    db.session.delete(grant)
    return grant
