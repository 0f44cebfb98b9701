"""What every area of the web layer shares: who may enter, the Chinese form, one way to
handle a form post (validate, call one service, flash, redirect; re-render on refusal)."""

from functools import wraps

from flask import abort, flash, make_response, redirect, request
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.i18n import get_translations

from survey.extensions import db
from survey.models import Role
from survey.services import ServiceError
from survey.services.sessions import get_for

STAFF = (Role.ADMIN, Role.ORGANIZER, Role.ASSESSOR)
ORGANIZERS = (Role.ADMIN, Role.ORGANIZER)
ASSESSORS = (Role.ADMIN, Role.ASSESSOR)


class Form(FlaskForm):
    """A form whose built-in messages (not a number, not a choice) are Chinese."""

    class Meta:
        locales = ("zh",)

        def get_translations(self, form):
            # WTForms ships the Chinese messages; Flask-WTF would want Flask-Babel for them.
            return get_translations(self.locales)

        def wrap_formdata(self, form, formdata):
            # Every page posts form fields. Flask-WTF would read a JSON body as the form, and a
            # body nested 200,000 deep would then exhaust the stack (a 500): never parse one.
            if formdata is not None and not hasattr(formdata, "getlist") and request.is_json:
                formdata = request.form
            return super().wrap_formdata(form, formdata)


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


def organizing(view):
    """Load the session named in the URL with organizer rights, and pass it as `session`."""

    @wraps(view)
    @require_role(*ORGANIZERS)
    def wrapper(session_id: int, **kwargs):
        return view(get_for(current_user, session_id, organize=True), **kwargs)

    return wrapper


def refused(error: ServiceError, page):
    """Undo the transaction, show the reason on the page and answer with its 4xx status."""
    db.session.rollback()
    flash(str(error), "error")
    response = make_response(page())
    response.status_code = error.status
    return response


def invalid(form: Form, page):
    """Show the form's first error as a message and answer 400."""
    for errors in form.errors.values():
        for error in errors if isinstance(errors, list) else [errors]:
            flash(str(error), "error")
            break
        break
    response = make_response(page())
    response.status_code = 400
    return response


def perform(form: Form | None, page, action, done, target):
    """Validate, run one service call, then flash and redirect; re-render page on refusal.

    `done` and `target` are text, or functions of what the service call returned (the new
    subject, the copied session …). A post with nothing to fill in (a button) has no form.
    """
    if form is not None and not form.validate():
        return invalid(form, page)
    try:
        result = action()
    except ServiceError as error:
        return refused(error, page)
    if done:
        flash(done(result) if callable(done) else done, "info")
    return redirect(target(result) if callable(target) else target)


def perform_action(page, action, target):
    """Handle a button (nothing to fill in): call, flash the message it returns, redirect."""
    return perform(None, page, action, done=lambda message: message, target=target)


def form_page(form: Form, page, action, done, target):
    """Show the page on GET; on POST handle the form as `perform` does."""
    if not form.is_submitted():
        return page()
    return perform(form, page, action, done, target)
