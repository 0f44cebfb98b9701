"""Keep voters out of access logs.

A code in a logged path could be matched to a voter; an address, a browser or a time to the
second next to a voter's request could be matched to a person or to the order of voting. So
every code in a path reads /v/[code], and a voter's request (/v… ballots, /q… 质询) is
logged with no address, no user agent, no referrer or other header, and the time only to the
hour. Organizer pages keep the usual log. docs/operations.md gives the nginx equivalent.
"""

import re
import time

from werkzeug.serving import WSGIRequestHandler

# /v/<code> is the vote address printed in the QR codes; /v/done and /v/report/ carry no code.
CODE_IN_PATH = re.compile(r"/v/(?!done\b|report/|submit\b)[^/?\s\"]+")
REDACTED = "/v/[code]"


VOTER_PATH = re.compile(r"/(?:v|q)(?:[/?]|$)")
HOUR_FORMAT = "%d/%b/%Y:%H:00:00 %z"


def redact(text: str) -> str:
    return CODE_IN_PATH.sub(REDACTED, text)


def is_voter_path(path: str) -> bool:
    """Whether a request path (or URI) is an attendee's: the ballot or the 质询 pages."""
    return VOTER_PATH.match(path or "") is not None


def hour_stamp(moment: float | None = None) -> str:
    return time.strftime(HOUR_FORMAT, time.localtime(moment))


class RedactingRequestHandler(WSGIRequestHandler):
    """The development server's request handler, logging redacted request lines."""

    def log_request(self, code="-", size="-"):
        # werkzeug builds the logged line from self.path (or the raw request line).
        if hasattr(self, "path"):
            self.path = redact(self.path)
        self.requestline = redact(self.requestline)
        super().log_request(code, size)

    def _voter(self) -> bool:
        return is_voter_path(getattr(self, "path", ""))

    def address_string(self) -> str:
        return "-" if self._voter() else super().address_string()

    def log_date_time_string(self) -> str:
        return hour_stamp() if self._voter() else super().log_date_time_string()


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is optional on a developer machine
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with codes removed from everything its access log can print."""

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
