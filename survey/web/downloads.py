"""Send a generated file with a name every browser shows well.

Browsers that read RFC 6266's `filename*=UTF-8''…` show the Chinese name; the rest (and some
download managers and mail gateways) fall back to `filename="…"`. Werkzeug derives that fallback
by dropping every non-ASCII character, which turns "测评2-2026年度….pdf" into "2-2026.pdf"; so each
download names its ASCII fallback itself, from what the file is and which session it belongs to.
"""

import re
from urllib.parse import quote

from flask import Response

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(name: str, ascii_name: str, *, inline: bool = False) -> str:
    """Build the header value with a UTF-8 name and a meaningful ASCII fallback."""
    fallback = _UNSAFE_ASCII.sub("-", ascii_name).strip("-") or "download"
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def send_download(
    data: bytes, name: str, ascii_name: str, mimetype: str, *, inline: bool = False
) -> Response:
    """Answer with the file; never cached, since results and codes are not for shared caches."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(name, ascii_name, inline=inline)
    response.headers["Cache-Control"] = "no-store"
    return response
