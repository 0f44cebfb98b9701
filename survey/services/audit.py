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


def record_download(user: User | None, session_id: int, what: str) -> None:
    """Log a download made by a read-only (GET) request, in a write transaction of its own."""
    from survey.extensions import write_intent

    db.session.commit()  # end the read transaction the request began
    token = write_intent.set(True)
    try:
        record(user, "download", session_id, what)
        db.session.commit()
    finally:
        write_intent.reset(token)
