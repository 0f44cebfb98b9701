"""Operations endpoints for load balancers and monitoring; they touch no database."""

from flask import Blueprint, make_response

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Answer "ok" while this worker can serve requests (the database is not consulted)."""
    response = make_response("ok")
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-store"
    return response
