"""Organizer and assessor pages."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from survey.models import Role
from survey.services.sessions import visible_sessions
from survey.views import require_role

bp = Blueprint("organize", __name__)

STAFF = (Role.ADMIN, Role.ORGANIZER, Role.ASSESSOR)


@bp.get("/")
def index():
    return redirect(url_for("organize.sessions"))


@bp.get("/sessions")
@require_role(*STAFF)
def sessions():
    return render_template("organize/sessions.html", sessions=visible_sessions(current_user))
