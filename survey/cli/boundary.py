"""The boundary of a command: it commits once at the end, or rolls back; a service's refusal
becomes the command's error message."""

from functools import wraps

import click
from flask.cli import with_appcontext

from survey.extensions import db
from survey.services import ServiceError


def one_transaction(command):
    """Run the command in the app context and end its transaction whatever happens.

    A command's last read (even after its services committed) would otherwise leave a
    transaction open, and on SQLite an open `BEGIN IMMEDIATE` holds the write lock for the
    life of the process: every other writer, a server included, waits and fails. A
    `ServiceError` the command lets through is printed as its Chinese message (exit 1).
    """

    @wraps(command)
    def run(*args, **kwargs):
        try:
            result = command(*args, **kwargs)
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return with_appcontext(run)


def named_session(session_id: int):
    """The session a command names by its number, or the command's error."""
    from survey.models import EvalSession

    session = db.session.get(EvalSession, session_id)
    if session is None:
        raise click.ClickException(f"测评 {session_id} 不存在。")
    return session
