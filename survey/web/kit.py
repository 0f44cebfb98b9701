"""What every area of the web layer shares: roles, refusals."""

from functools import wraps

from flask import abort, flash, make_response
from flask_login import current_user

from survey.extensions import db
from survey.services import ServiceError


def require_role(*roles):
    """Let only logged-in users with one of these roles through; others get 403."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                from survey.extensions import login_manager

                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def refused(error: ServiceError, page):
    """Undo the transaction, show the reason on the page and answer with its 4xx status."""
    db.session.rollback()
    flash(str(error), "error")
    response = make_response(page())
    response.status_code = error.status
    return response
