"""Keep ballot codes out of access logs: a code in a logged path could be matched to a voter."""

import re

from werkzeug.serving import WSGIRequestHandler

# /v/<code> is the vote address printed in the QR codes; /v/done and /v/report/ carry no code.
CODE_IN_PATH = re.compile(r"/v/(?!done\b|report/|submit\b)[^/?\s\"]+")
REDACTED = "/v/[code]"


def redact(text: str) -> str:
    return CODE_IN_PATH.sub(REDACTED, text)


class RedactingRequestHandler(WSGIRequestHandler):
    """The development server's request handler, logging redacted request lines."""

    def log_request(self, code="-", size="-"):
        # werkzeug builds the logged line from self.path (or the raw request line).
        if hasattr(self, "path"):
            self.path = redact(self.path)
        self.requestline = redact(self.requestline)
        super().log_request(code, size)


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is optional on a developer machine
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger with codes removed from everything its access log can print."""

    def atoms(self, resp, req, environ, request_time):
        values = super().atoms(resp, req, environ, request_time)
        # The path shows up in several atoms (request line, path, raw URI, Referer): clean all.
        return {key: redact(v) if isinstance(v, str) else v for key, v in values.items()}
