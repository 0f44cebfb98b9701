"""廉政档案: everything filed about one person that the viewer may see, on one page."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from survey.services import rectification as rectification_service
from survey.services import seasons as season_service
from survey.services.history import person_history
from survey.services.inquiries import inquiries_about
from survey.web.kit import STAFF, require_role

bp = Blueprint("people", __name__)

MAX_NAME = 100


@bp.get("/people")
@require_role(*STAFF)
def page():
    name = request.args.get("name", "").strip()[:MAX_NAME]
    history = person_history(current_user, name) if name else []
    return render_template(
        "people/person.html",
        name=name,
        history=history,
        seasons={
            line.session.id: season_service.season_of_session(line.session.id) for line in history
        },
        inquiries=inquiries_about(current_user, name) if name else [],
        items=rectification_service.items_about(current_user, name) if name else [],
    )


@bp.get("/people/record")
def record():
    """The address the record had when it was a page of its own (links may be filed)."""
    return redirect(url_for("people.page", name=request.args.get("name", "")), code=301)
