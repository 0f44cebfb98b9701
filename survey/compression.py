"""Gzip every text response, pages and static files alike, for phones on crowded hall Wi-Fi.

The one compression path of the app (a proxy in front may compress too; it then sees the
Content-Encoding and leaves the body alone). gunicorn serves the static files through Flask's
send_file, which streams them as they are; here they are read (they are a few KB), gzipped once
per worker and process, and served from memory after that.
"""

import gzip
import threading

from flask import Flask, request

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
)
# Below this a gzip header and trailer (18 bytes) outweigh what compression saves.
MIN_BYTES = 150
LEVEL = 6
# Static files by (path, ETag): gzipped once per worker.
_static: dict[tuple[str, str], bytes] = {}
_lock = threading.Lock()
MAX_STATIC = 256


def init_compression(app: Flask) -> None:
    app.after_request(compress)


def accepts_gzip() -> bool:
    for part in request.headers.get("Accept-Encoding", "").lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def compress(response):
    """Gzip the body when the client takes it and it is text worth compressing."""
    if (
        response.status_code < 200
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(COMPRESSIBLE)
    ):
        return response
    response.vary.add("Accept-Encoding")
    if request.method == "HEAD" or not accepts_gzip():
        return response
    if response.is_streamed and not response.direct_passthrough:
        return response  # a generator (an export being written): leave it streaming
    etag, _weak = response.get_etag()
    static = response.direct_passthrough and etag is not None
    body = _static.get((request.path, etag)) if static else None
    if body is None:
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=LEVEL, mtime=0)
        if len(body) >= len(data):
            return response
        if static:
            with _lock:
                if len(_static) >= MAX_STATIC:
                    _static.clear()
                _static[(request.path, etag)] = body
    else:
        response.direct_passthrough = False
        response.close()  # the file send_file opened: its bytes come from memory instead
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    if etag is not None:
        # Same validator, weak: another encoding of the same file still revalidates to a 304.
        response.set_etag(etag, weak=True)
    return response
