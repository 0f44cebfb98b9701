"""The audit log of organizer and assessor actions."""

from survey.extensions import db
from survey.models import AuditEntry, User


def record(user: User | None, action: str, session_id: int | None = None, detail: str = "") -> None:
    """Add an entry to the current transaction; the caller's commit makes it permanent."""
    db.session.add(
        AuditEntry(
            user_id=user.id if user else None, session_id=session_id, action=action, detail=detail
        )
    )
