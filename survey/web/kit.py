"""What every area of the web layer shares: who may enter (`require_role`, `loading`,
`organizing`), the Chinese form, and one way to handle a form post: validate, call one
service, flash, redirect; show the page again on refusal (`perform`, `form_page`, and `posts`,
which declares an area's posts by the work each one does)."""

from functools import wraps

from flask import abort, flash, make_response, redirect, render_template, request, url_for
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


def loading(name: str, load, *roles):
    """Let these roles in, and pass the view what `load(user, value)` makes of the URL's
    `name` (the session, the season …) in its place; `load` refuses with 404 or 403."""

    def decorate(view):
        @wraps(view)
        @require_role(*roles)
        def wrapper(**values):
            return view(load(current_user, values.pop(name)), **values)

        return wrapper

    return decorate


# The session named in the URL, with organizer rights, passed as `session`.
organizing = loading(
    "session_id", lambda user, session_id: get_for(user, session_id, organize=True), *ORGANIZERS
)


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


def perform(form: Form | None, page, work, back, done=None):
    """Validate, do the work (one service call), flash its message and redirect to `back`; on
    a refusal show `page` again with the reason.

    `work` returns the message to flash (None: no message). Where what it returns is a thing
    (the new session, the copied one …), `done` makes the message of it, and `back` may be a
    function of it too. A post with nothing to fill in (a button) has no form.
    """
    if form is not None and not form.validate():
        return invalid(form, page)
    try:
        result = work()
    except ServiceError as error:
        return refused(error, page)
    message = result if done is None else done(result) if callable(done) else done
    if message:
        flash(message, "info")
    return redirect(back(result) if callable(back) else back)


def form_page(form: Form, page, work, back, done=None):
    """Show the page on GET; on POST handle the form as `perform` does."""
    if not form.is_submitted():
        return page()
    return perform(form, page, work, back, done)


def shown(template: str, **context):
    """A `page` for `perform` and `form_page`: the template, rendered with these values."""
    return lambda: render_template(template, **context)


class ActionForm(Form):
    """A button that only needs its CSRF token."""


def page_of(endpoint: str, name: str = "session_id", anchor: str = ""):
    """A `back` for `posts`: the page `endpoint` of what the guard loaded (its id as `name`)."""
    return lambda loaded, **_: url_for(endpoint, **{name: loaded.id}) + anchor


def posts(bp, guard, page, back):
    """Declare the posts of an area's page (buttons, small forms) by the work each one does.

    Each post is a function of what `guard` loaded from the URL (the session, the season …),
    the submitted form and the URL's other values; it calls one service and returns the
    message to flash (None for none). The one view that serves them all does it the `perform`
    way: validate, work, flash, redirect to `back`; on a refusal show `page` again with the
    reason. `page(loaded, form, **values)` and `back(loaded, **values)` are the area's; a post
    may name its own. `form` is the post's form class, None for a button without one. A post
    that `shows` its page answers GET too, with the page and the form not yet filled in. The
    endpoint is the function's name unless `endpoint` says otherwise. Where the page itself
    needs what else the URL names, `load(loaded, **values)` turns the URL's values into what
    page, back and work take, before anything else: what is missing is then a plain 404.

        on_subjects = posts(bp, organizing, page, page_of("organize.subjects"))

        @on_subjects("/sessions/<id:session_id>/subjects/<id:subject_id>/report/delete")
        def delete_report(session, form, subject_id):
            subject = roster.get_subject(session, subject_id)
            roster.delete_report(subject, current_user)
            return f"已删除“{subject.name}”的述职报告。"
    """

    def post(
        rule: str, form=ActionForm, page=page, back=back, shows=False, endpoint=None, load=None
    ):
        def register(work):
            def view(loaded, **values):
                if load is not None:
                    values = load(loaded, **values)
                submitted = form() if form else None
                if request.method != "POST":
                    return page(loaded, submitted, **values)
                return perform(
                    submitted,
                    lambda: page(loaded, submitted, **values),
                    lambda: work(loaded, submitted, **values),
                    lambda _: back(loaded, **values),
                )

            view.__name__ = endpoint or work.__name__
            methods = ["GET", "POST"] if shows else ["POST"]
            bp.add_url_rule(rule, view.__name__, guard(view), methods=methods)
            return work

        return register

    return post
