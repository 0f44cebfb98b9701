"""A phone's two requests without Flask's per-request machinery, when nothing is unusual.

Every phone in the hall GETs its ballot (/v/<code>) and POSTs it (/v/submit). Through Flask
each costs about 0.35 ms of CPU before the view runs (request context, the signed-cookie
session, URL matching, before/after hooks, the response object, header and compression hooks)
on top of gunicorn's own work: as much as the view itself. This WSGI layer in front of the app
answers those two requests itself when they are the ordinary case, and hands everything else
to Flask untouched:
- GET /v/<code> when the client takes gzip, the code may vote and this worker has the
  session's page (routes.ballot_page) already: the spliced page, with the headers the Flask
  route would send;
- POST /v/submit of an urlencoded form from this site, with a complete, valid ballot (or
  abstentions confirmed) that the claim stores: 303 to the receipt, as the Flask route.
Anything else (another path, HEAD, no gzip, an unknown, used or void code, a throttled
client, a closed session, an invalid or unconfirmed ballot, a repeat, a first request of a
session in this worker, a database error) goes to Flask, which looks the code up again and
answers as it always has. Nothing is written before the claim, and the claim is the
transaction: a request handed on after a claim that stored nothing is decided afresh by the
Flask route (which spots a repeat by its form token), so exactly-once and idempotent retries
hold on both paths. The checks are the routes' own functions (checked_submission,
origin_allowed, hole_values), not copies.

Installed inside the proxy fix (survey/web/proxies.py), so REMOTE_ADDR is the client's
network address for the failed-code throttle either way.
"""

import io
import logging
import re

from sqlalchemy.exc import SQLAlchemyError

from survey.inputs import without_controls
from survey.services.ballots import MAX_FIELDS, BallotInvalid, CodeRefused, looks_like_code
from survey.services.voting import Throttled, look_up, may_vote
from survey.web.compression import accepts_gzip
from survey.web.headers import CONTENT_SECURITY_POLICY, HEADERS
from survey.web.vote import routes

log = logging.getLogger(__name__)

BALLOT_PATH = re.compile(r"/v/([0-9A-Za-z-]{1,64})")
FORM_TYPE = re.compile(r"application/x-www-form-urlencoded\s*(?:;\s*charset=utf-8\s*)?", re.I)
ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
# What Flask would answer: the security headers (survey/web/headers.py) where the ballot's
# own (no-referrer, no-store) do not take precedence.
COMMON_HEADERS = list(
    {
        **HEADERS,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        **routes.PRIVATE_HEADERS,
    }.items()
)
PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Encoding", "gzip"),
    ("Vary", "Accept-Encoding"),
    *COMMON_HEADERS,
]
RECEIPT_HEADERS = [("Location", "/v/done"), ("Content-Length", "0"), *COMMON_HEADERS]
# Refusals and odd cases: Flask's routes answer them (with their pages and the throttle).
HANDED_ON = (Throttled, CodeRefused, BallotInvalid, routes.Incomplete, routes.Unconfirmed)


class PhoneFastPath:
    """WSGI middleware: the ordinary ballot GET and POST here, everything else to `wsgi_app`."""

    def __init__(self, app, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ, start_response):
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
        reply = None
        if method == "GET" and path.startswith("/v/"):
            reply = self.answer(self.ballot_page, environ)
        elif method == "POST" and path == "/v/submit":
            reply = self.answer(self.submit, environ)
        if reply is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = reply
        start_response(status, headers)
        return [body]

    def answer(self, handler, environ):
        """The handler's reply, or None to hand the request to Flask."""
        with self.app.app_context():
            try:
                return handler(environ)
            except HANDED_ON:
                return None
            except SQLAlchemyError:
                # Flask's route meets the same trouble and answers it as usual.
                log.warning("ballot fast path handed a request on", exc_info=True)
                return None

    def ballot_page(self, environ):
        matched = BALLOT_PATH.fullmatch(environ["PATH_INFO"])
        if not matched or not accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
            return None
        typed = matched[1]
        if not looks_like_code(typed):
            return None  # /v/done and the like are Flask's
        found = may_vote(look_up(typed, environ.get("REMOTE_ADDR") or ""))
        page = routes.cached_page(found)
        if page is None:
            return None  # the worker's first phone of this session: Flask renders the page
        body = page.gzipped(routes.hole_values(typed))
        return "200 OK", [*PAGE_HEADERS, ("Content-Length", str(len(body)))], body

    def submit(self, environ):
        body = read_form_body(environ)
        if body is None:
            return None
        origin = environ.get("HTTP_ORIGIN") or environ.get("HTTP_REFERER")
        if not routes.origin_allowed(origin, environ.get("HTTP_HOST", "")):
            return None
        form = parse_form(body)
        if form is None:
            return None
        checked = routes.checked_submission(form, environ.get("REMOTE_ADDR") or "")
        if checked is not None:
            routes.cast(*checked)
        return "303 SEE OTHER", RECEIPT_HEADERS, b""


def read_form_body(environ) -> bytes | None:
    """The urlencoded body of a ballot, left readable for Flask; None when not one."""
    if not FORM_TYPE.fullmatch(environ.get("CONTENT_TYPE", "")):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= routes.MAX_BALLOT_BYTES:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again if the request goes on
    return body


def parse_form(body: bytes) -> dict[str, str] | None:
    """An urlencoded form as Flask's CleanRequest gives it (request.form.to_dict()): `+` and
    percent escapes decoded as UTF-8, control characters removed, the first value of a name.

    None for anything a browser's ballot form would not send (non-ASCII bytes, an escape that
    is not UTF-8, too many fields): Flask's parser then decides. The standard library's
    unquote walks a 200-character Chinese comment escape by escape; here each run of escapes
    is decoded at once.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        return None
    pairs = text.split("&")
    if len(pairs) > MAX_FIELDS:
        return None
    form: dict[str, str] = {}
    try:
        for pair in pairs:
            if pair:
                name, _, value = pair.partition("=")
                form.setdefault(without_controls(unquote(name)), without_controls(unquote(value)))
    except UnicodeDecodeError:
        return None
    return form


def unquote(text: str) -> str:
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    return ESCAPES.sub(lambda run: bytes.fromhex(run[0].replace("%", "")).decode(), text)


def install(app) -> None:
    """Put the fast path in front of the app (inside the proxy fix, which wraps it later)."""
    app.wsgi_app = PhoneFastPath(app, app.wsgi_app)
