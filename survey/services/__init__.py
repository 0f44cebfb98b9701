"""Services own the transactions; views and the CLI call them."""

from survey.extensions import db


class ServiceError(Exception):
    """A request the rules refuse; the message is Chinese and shown to the user as is."""

    status = 400


class NotAllowed(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


def one_of(model, row_id, missing: str, **owner):
    """Return the row of `model` with this id, if it belongs to `owner` (`session_id=…`);
    otherwise refuse with 404 and the Chinese `missing`. A row of another session is as
    absent as one that never existed, so an id typed into a URL reveals nothing."""
    row = db.session.get(model, row_id)
    if row is None or any(getattr(row, column) != value for column, value in owner.items()):
        raise NotFound(missing)
    return row
