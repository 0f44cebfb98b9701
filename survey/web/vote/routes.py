"""The attendee's pages: code entry, the ballot, the receipt. No login, no cookie needed."""

import hmac
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from survey.extensions import csrf, db
from survey.models import EvalSession, SessionState, Subject
from survey.security import canonical_code, display_code, report_token
from survey.services import ratelimit
from survey.services.ballots import (
    BallotInvalid,
    CodeProblem,
    CodeRefused,
    ballot_rows,
    cast,
    code_for_submission,
    find_code,
    parse_submission,
)

bp = Blueprint("vote", __name__, url_prefix="/v")

MAX_BALLOT_BYTES = 256 * 1024
# The requests that look a code up, and so could be used to guess one.
CODE_LOOKUPS = frozenset(
    {
        ("vote.enter_code", "POST"),
        ("vote.ballot", "GET"),
        ("vote.ballot", "HEAD"),
        ("vote.submit", "POST"),
    }
)


@bp.after_request
def private_page(response):
    # Nothing of a ballot may stay in caches or leak through the Referer header.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.before_request
def refuse_guessing():
    """Answer 429 to a client network that has failed too many codes lately."""
    if (request.endpoint, request.method) in CODE_LOOKUPS and ratelimit.is_throttled():
        html = render_template("vote/too_many.html")
        return html, 429, {"Retry-After": str(ratelimit.RETRY_AFTER_SECONDS)}
    return None


@bp.errorhandler(CodeRefused)
def code_refused(error: CodeRefused):
    if error.problem == CodeProblem.UNKNOWN:
        ratelimit.record_failure()  # only unknown codes count: honest phones rarely fail
    return render_template("vote/problem.html", title=error.title, message=str(error)), error.status


@bp.route("", methods=["GET", "POST"])
@csrf.exempt  # an attendee has no login session to tie a token to; the code is the secret
def enter_code():
    """Take a typed code (forgiving case, spaces and dashes) and show its ballot."""
    if request.method == "GET":
        return render_template("vote/enter.html")
    typed = request.form.get("code", "")[:64]
    if not canonical_code(typed):
        return render_template("vote/enter.html", error="请输入测评码。"), 400
    return show_ballot(typed)


@bp.get("/<code>")
def ballot(code: str):
    return show_ballot(code[:64])


@bp.app_template_global()
def report_token_for(subject: Subject) -> str:
    return report_token(current_app.config["BALLOT_CODE_KEY"], subject.session_id, subject.id)


@bp.get("/report/<id:subject_id>/<token>")
def report(subject_id: int, token: str):
    """Show a subject's written 述责述廉 report to code holders while the session is open.

    The address carries a keyed token that only ballot pages show, so a report is read by
    those who hold a code of that session, not by anyone counting subject ids.
    """
    subject = db.session.get(Subject, subject_id)
    if subject is None or subject.session.state != SessionState.OPEN:
        abort(404)
    if not hmac.compare_digest(token.encode(), report_token_for(subject).encode()):
        abort(404)
    if subject.report_pdf:
        response = make_response(subject.report_pdf)
        response.headers["Content-Type"] = "application/pdf"
        response.headers["Content-Disposition"] = "inline"
        return response
    if not subject.report_text:
        abort(404)
    return render_template("vote/report.html", subject=subject)


@bp.get("/done")
def done():
    return render_template("vote/done.html")


@bp.post("/submit")
@csrf.exempt  # forgery is stopped by the code itself and the Origin check below
def submit():
    if request.content_length and request.content_length > MAX_BALLOT_BYTES:
        abort(413)
    check_origin()
    form = request.form.to_dict()
    typed = form.pop("code", "")
    token = form.pop("token", "")
    confirmed = form.pop("confirm_partial", "") == "1"
    if not typed or not token or len(token) > 64:
        message = "提交的测评表不完整，请重新扫码填写。"
        return render_template("vote/problem.html", title="提交不完整", message=message), 400
    code_row = code_for_submission(typed, token)
    if code_row is None:  # this very submission was already stored
        return redirect(url_for("vote.done"), code=303)
    session = db.session.get(EvalSession, code_row.session_id)
    try:
        submission = parse_submission(session, form)
    except BallotInvalid as error:
        return render_ballot(session, typed, chosen=form, error=str(error), status=400)
    missing = submission.unanswered
    if missing and not confirmed:
        return render_ballot(session, typed, chosen=form, unanswered=missing, status=200)
    cast(code_row, token, submission)
    return redirect(url_for("vote.done"), code=303)


def show_ballot(typed: str):
    code_row = find_code(typed)
    session = db.session.get(EvalSession, code_row.session_id)
    return render_ballot(session, typed)


def render_ballot(session, typed, chosen=None, error=None, unanswered=0, status=200):
    questionnaire = session.frozen_questionnaire()
    rows = ballot_rows(session, questionnaire)
    html = render_template(
        "vote/ballot.html",
        session=session,
        questionnaire=questionnaire,
        rows=rows,
        code=display_code(canonical_code(typed)),
        token=secrets.token_urlsafe(24),
        chosen=chosen or {},
        error=error,
        unanswered=unanswered,
    )
    return html, status


def check_origin() -> None:
    """Refuse a ballot posted from another site (when the browser says where it came from)."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin or origin == "null":
        return  # some in-app browsers send neither; the code is still required
    allowed = {request.host, urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc}
    if urlsplit(origin).netloc not in allowed:
        abort(403)
