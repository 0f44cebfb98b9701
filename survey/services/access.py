"""Who may see what: one rule for sessions and seasons alike.

An administrator sees everything; anyone else what they own or were granted.
"""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Role, User


def visible_to(user: User, model, granted_id, *order_by) -> list:
    """Rows of `model` the user may open; `granted_id` is the grant table's column naming one."""
    query = sa.select(model).order_by(*order_by)
    if user.role != Role.ADMIN:
        grant_table = granted_id.class_
        granted = sa.select(granted_id).where(grant_table.user_id == user.id)
        query = query.where(sa.or_(model.owner_id == user.id, model.id.in_(granted)))
    return list(db.session.scalars(query))
