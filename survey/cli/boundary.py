"""The transaction boundary of a command: it commits once at the end, or rolls back."""

from functools import wraps

from flask.cli import with_appcontext

from survey.extensions import db


def one_transaction(command):
    """Run the command in the app context and end its transaction whatever happens.

    A command's last read (even after its services committed) would otherwise leave a
    transaction open, and on SQLite an open `BEGIN IMMEDIATE` holds the write lock for the
    life of the process: every other writer, a server included, waits and fails.
    """

    @wraps(command)
    def run(*args, **kwargs):
        try:
            result = command(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return with_appcontext(run)
