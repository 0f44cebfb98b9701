"""Keep voters out of access logs.

A code in a logged path could be matched to a voter; an address, a browser or a time to the
second next to a voter's request could be matched to a person or to the order of voting. So
every code in a path reads /v/[code], and a voter's request (/v… ballots, /q… 质询) is
logged with no address, no user agent, no referrer or other header, and the time only to the
hour. Organizer pages keep the usual log. docs/operations.md gives the nginx equivalent.
"""

import logging
import re
import time

from survey.security import CODE_ALPHABET

# /v/<code> is the vote address printed in the QR codes; /v/done and /v/report/ carry no code.
# The router decodes and the browser may not: /V/, /%76/ and /v%2F reach the same page.
CODE_IN_PATH = re.compile(
    r"/(?:v|%76|%56)(?:/|%2f)(?!done\b|report(?:/|%2f)|submit\b)[^/?\s\"']+", re.IGNORECASE
)
REDACTED = "/v/[code]"
# A code on its own, as an error message may quote a mangled request line (a NUL in it, say):
# ten characters of the code alphabet, in either case, alone or grouped 5-5. Applied to error
# messages only, not to tracebacks, where ten-letter identifiers abound.
_CODE_CHAR = f"[{CODE_ALPHABET}{CODE_ALPHABET.lower()}]"
CODE_SHAPED = re.compile(rf"(?<![0-9A-Za-z]){_CODE_CHAR}{{5}}[- ]?{_CODE_CHAR}{{5}}(?![0-9A-Za-z])")


# gunicorn's "Invalid request from ip=<address>: <error>" (a phone's mangled request line, a
# port scanner) names the client: with the request line and the time next to it, that can place
# a person at a ballot link. IPv6 addresses hold colons but never ": ".
CLIENT_ADDRESS = re.compile(r"\bip=\S*?(?=: |\s|$)")
ADDRESS_REMOVED = "ip=-"

VOTER_PATH = re.compile(r"/(?:v|q)(?:[/?]|$)")
HOUR_FORMAT = "%d/%b/%Y:%H:00:00 %z"


def redact(text: str) -> str:
    return CODE_IN_PATH.sub(REDACTED, text)


def redact_error(text: str) -> str:
    """Error messages quote what could not be parsed: remove anything shaped like a code too,
    and the client address gunicorn names next to it."""
    return CLIENT_ADDRESS.sub(ADDRESS_REMOVED, CODE_SHAPED.sub("[code]", redact(text)))


class RedactingFilter(logging.Filter):
    """Redact a log record's message and traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a malformed record is logged as it comes)
            return True
        record.msg, record.args = redact_error(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def install(app) -> None:
    """Redact the application's own log (Flask logs the path of a request that failed)."""
    app.logger.addFilter(RedactingFilter())
    logging.getLogger("werkzeug").addFilter(RedactingFilter())


def is_voter_path(path: str) -> bool:
    """Whether a request path (or URI) is an attendee's: the ballot or the 质询 pages."""
    return VOTER_PATH.match(path or "") is not None


def hour_stamp(moment: float | None = None) -> str:
    return time.strftime(HOUR_FORMAT, time.localtime(moment))


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is optional on a developer machine
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with codes removed from everything its access and error logs print,
    and client addresses from its error log."""

    def __init__(self, cfg):
        super().__init__(cfg)
        # "Invalid request from ip=…: Invalid HTTP request line: 'GET /v/<code>\x00 …'" becomes
        # "Invalid request from ip=-: Invalid HTTP request line: 'GET /v/[code]\x00 …'".
        self.error_log.addFilter(RedactingFilter())

    def atoms(self, resp, req, environ, request_time):
        values = super().atoms(resp, req, environ, request_time)
        if is_voter_path(environ.get("PATH_INFO", "")):
            # Address, browser, referrer, every request header and environment variable: out.
            # The time keeps only the hour.
            for key in list(values):
                if key in ("h", "a", "f", "u") or key.endswith(("}i", "}e")):
                    values[key] = "-"
            values["t"] = f"[{hour_stamp()}]"
        # The path shows up in several atoms (request line, path, raw URI, Referer): clean all.
        return {key: redact(v) if isinstance(v, str) else v for key, v in values.items()}
