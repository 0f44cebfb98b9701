"""Clerks key in paper 测评表 twice; mismatches are listed for the organizer."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from survey.services import ServiceError
from survey.services.ballots import ballot_grid
from survey.services.paper import (
    OUTCOME_MESSAGES,
    PaperOutcome,
    discard_entry,
    enter_paper_ballot,
    mismatches,
    pending_count,
)
from survey.services.sessions import get_for
from survey.web.kit import ORGANIZERS, require_role

bp = Blueprint("paper", __name__, url_prefix="/sessions/<id:session_id>/paper")


def render_entry(session, chosen=None, status=200):
    page = render_template(
        "paper/entry.html",
        **ballot_grid(session),
        chosen=chosen or {},
        mismatches=mismatches(session),
        pending=pending_count(session),
    )
    return page, status


@bp.route("", methods=["GET", "POST"])
@require_role(*ORGANIZERS)
def entry(session_id: int):
    session = get_for(current_user, session_id, organize=True)
    if request.method == "GET":
        return render_entry(session)
    form = request.form.to_dict()
    form.pop("csrf_token", None)
    typed = form.pop("code", "")
    try:
        outcome = enter_paper_ballot(session, current_user, typed, form)
    except ServiceError as error:
        flash(str(error), "error")
        return render_entry(session, chosen={"code": typed, **form}, status=error.status)
    flash(OUTCOME_MESSAGES[outcome], "warning" if outcome == PaperOutcome.MISMATCH else "info")
    return redirect(url_for("paper.entry", session_id=session_id))


@bp.post("/discard/<id:entry_id>")
@require_role(*ORGANIZERS)
def discard(session_id: int, entry_id: int):
    session = get_for(current_user, session_id, organize=True)
    discard_entry(session, entry_id, current_user)
    flash("已删除该录入记录，请对照纸质表重新录入。", "info")
    return redirect(url_for("paper.entry", session_id=session_id))
