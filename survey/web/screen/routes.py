"""The meeting screen (投屏): the code-entry QR code and live progress, never a tally while open."""

from functools import cache

from flask import Blueprint, jsonify, make_response, render_template, request
from flask_login import current_user

from survey.links import entry_url
from survey.models import SessionState
from survey.services.results import compute_results
from survey.services.sessions import get_for, progress, questionnaire_of
from survey.web.kit import STAFF, require_role

bp = Blueprint("screen", __name__)

POLL_SECONDS = 1.5


@bp.get("/sessions/<id:session_id>/screen")
@require_role(*STAFF)
def screen(session_id: int):
    session = get_for(current_user, session_id, organize=False)
    # Results go on the projector only after close, and only when the organizer asks for them.
    show_results = session.state == SessionState.CLOSED and request.args.get("show") == "results"
    return render_template(
        "screen/screen.html",
        results=compute_results(session) if show_results else None,
        session=session,
        progress=progress(session),
        questionnaire=questionnaire_of(session),
        entry=entry_url(),
        poll_ms=int(POLL_SECONDS * 1000),
    )


@bp.get("/sessions/<id:session_id>/screen/progress")
@require_role(*STAFF)
def progress_json(session_id: int):
    """Return the state and the number of ballots received; polled by static/screen.js."""
    session = get_for(current_user, session_id, organize=False)
    response = jsonify(progress(session).to_json())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/screen/entry-qr.svg")
def entry_qr():
    """Serve the QR code of the code-entry page ({PUBLIC_BASE_URL}/v); it holds no secret."""
    response = make_response(_qr_svg(entry_url()))
    response.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@cache
def _qr_svg(data: str) -> str:
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M
    from qrcode.image.svg import SvgPathFillImage

    image = qrcode.make(
        data, image_factory=SvgPathFillImage, error_correction=ERROR_CORRECT_M, border=2
    )
    return image.to_string(encoding="unicode")
