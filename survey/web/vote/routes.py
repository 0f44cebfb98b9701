"""The attendee's pages: code entry, the ballot, the receipt. No login, no cookie needed."""

import contextlib
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
from markupsafe import escape

from survey.extensions import csrf, db, write_intent
from survey.models import EvalSession, SessionState, Subject
from survey.security import canonical_code, display_code, report_token
from survey.services import ratelimit
from survey.services.ballots import (
    BallotInvalid,
    CodeProblem,
    CodeRefused,
    ballot_grid,
    cast,
    parse_submission,
)
from survey.services.voting import CodeLookup, Throttled, form_for, look_up, may_vote, remember
from survey.web.compression import SplicedPage

bp = Blueprint("vote", __name__, url_prefix="/v")

MAX_BALLOT_BYTES = 256 * 1024


# Nothing of a ballot may stay in caches or leak through the Referer header.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.after_request
def private_page(response):
    response.headers.update(PRIVATE_HEADERS)
    return response


@bp.errorhandler(Throttled)
def refuse_guessing(_error):
    """Answer 429 to a client network that has failed too many codes lately.

    Every request that looks a code up (the entry form, the ballot link, the submit) asks
    within that same lookup (services/voting.py), whatever the code turns out to be.
    """
    html = render_template("vote/too_many.html")
    return html, 429, {"Retry-After": str(ratelimit.RETRY_AFTER_SECONDS)}


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
    with reading():  # a ballot shown again is read without SQLite's write lock too
        try:
            checked = checked_submission(form)
        except Incomplete:
            message = "提交的测评表不完整，请重新扫码填写。"
            return render_template("vote/problem.html", title="提交不完整", message=message), 400
        except BallotInvalid as error:
            found, typed = error.found, error.typed
            return render_ballot(found, typed, chosen=form, error=str(error), status=400)
        except Unconfirmed as missing:
            found, typed, lines = missing.found, missing.typed, missing.lines
            return render_ballot(found, typed, chosen=form, unanswered=lines)
    if checked is not None:
        cast(*checked)
    return redirect(url_for("vote.done"), code=303)


class Incomplete(Exception):
    """A submit without its code or form token: not a ballot page's."""


class Unconfirmed(Exception):
    """Lines were left blank and the rater has not yet confirmed the abstentions."""

    def __init__(self, found: CodeLookup, typed: str, lines: int):
        super().__init__(lines)
        self.found, self.typed, self.lines = found, typed, lines


def checked_submission(form: dict, address: str | None = None):
    """Check a posted ballot: (code, form token, submission) to cast, or None for a repeat of
    a submission already stored.

    Raises Incomplete, Throttled, CodeRefused, BallotInvalid (carrying `found` and `typed`
    for the page that shows the ballot again) or Unconfirmed. `form` loses the code, token
    and confirmation fields. Reads without SQLite's write lock and ends the read, so that
    cast() begins its own short write transaction.
    """
    typed = form.pop("code", "")
    token = form.pop("token", "")
    confirmed = form.pop("confirm_partial", "") == "1"
    if not typed or not token or len(token) > 64:
        raise Incomplete()
    with reading():
        found = look_up(typed, address)
        if found.is_repeat(token):  # this very submission was already stored
            return None
        may_vote(found)
        try:
            submission = parse_submission(form_for(found), form)
        except BallotInvalid as error:
            error.found, error.typed = found, typed
            raise
        if submission.unanswered and not confirmed:
            raise Unconfirmed(found, typed, submission.unanswered)
        if db.session.registry.has():
            db.session.rollback()  # end any read the form's first load began
    return found, token, submission


@contextlib.contextmanager
def reading():
    """Let what runs inside read without taking SQLite's write lock (BEGIN, not IMMEDIATE)."""
    token = write_intent.set(False)
    try:
        yield
    finally:
        write_intent.reset(token)


def show_ballot(typed: str):
    found = may_vote(look_up(typed))
    return ballot_page(found).response(hole_values(typed))


def hole_values(typed: str) -> list:
    """What fills the page's holes: the code as printed on the card, a fresh form token."""
    code = display_code(canonical_code(typed))
    return [escape(code), escape(secrets.token_urlsafe(24))]


CODE_HOLE, TOKEN_HOLE = "@@code@@", "@@token@@"
_pages: dict[tuple, SplicedPage] = {}


def cached_page(found: CodeLookup) -> SplicedPage | None:
    """The session's ballot page if this worker has rendered it already."""
    return _pages.get(found.session_key)


def ballot_page(found: CodeLookup) -> SplicedPage:
    """The session's blank ballot page, rendered and gzipped once per worker process.

    Its key is read with the code on every request (services/voting.py says why it suffices).
    """
    page = cached_page(found)
    if page is None:
        html, _ = render_ballot(found, CODE_HOLE, token=TOKEN_HOLE)
        before_code, rest = html.split(f'value="{CODE_HOLE}"')
        before_token, after_token = rest.split(f'value="{TOKEN_HOLE}"')
        page = SplicedPage([f'{before_code}value="', f'"{before_token}value="', f'"{after_token}'])
        remember(_pages, found.session_key, page)
    return page


def render_ballot(found, typed, chosen=None, error=None, unanswered=0, status=200, token=None):
    html = render_template(
        "vote/ballot.html",
        **ballot_grid(db.session.get(EvalSession, found.session_id)),
        code=typed if typed == CODE_HOLE else display_code(canonical_code(typed)),
        token=token or secrets.token_urlsafe(24),
        chosen=chosen or {},
        error=error,
        unanswered=unanswered,
    )
    return html, status


def check_origin() -> None:
    """Refuse a ballot posted from another site (when the browser says where it came from)."""
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin_allowed(origin, request.host):
        abort(403)


def origin_allowed(origin: str | None, host: str) -> bool:
    """Whether a post whose Origin (or Referer) is `origin` may come to this server at `host`."""
    if not origin or origin == "null":
        return True  # some in-app browsers send neither; the code is still required
    allowed = {host, urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc}
    return urlsplit(origin).netloc in allowed
