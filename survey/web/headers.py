"""Browser-side defences on every response: CSP, no framing, no sniffing, careful cookies."""

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Ballot pages set no-referrer themselves; setdefault below keeps theirs.
    "Referrer-Policy": "same-origin",
}

# Chrome draws an inline PDF with its own embedded viewer and inline styles, which this CSP
# would block (crbug.com/271452); a PDF runs no page script, so it is served without a CSP.
NO_CSP_MIMETYPES = frozenset({"application/pdf"})


def init_security_headers(app: Flask) -> None:
    """Make cookies HttpOnly, SameSite=Lax (Secure over HTTPS) and add the headers below."""
    https = (
        app.config.get("PUBLIC_BASE_URL", "").lower().startswith("https://")
        or app.config.get("PREFERRED_URL_SCHEME") == "https"
    )
    for prefix in ("SESSION", "REMEMBER"):
        app.config[f"{prefix}_COOKIE_HTTPONLY"] = True
        app.config[f"{prefix}_COOKIE_SAMESITE"] = "Lax"
        if https:
            app.config[f"{prefix}_COOKIE_SECURE"] = True
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = HttpsAwareSessionInterface()
    app.after_request(add_security_headers)


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def add_security_headers(response):
    """Set the defaults without overriding what a page chose for itself."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype not in NO_CSP_MIMETYPES:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if request.is_secure:
        secure_cookies(response)
    return response


def secure_cookies(response) -> None:
    """Mark the cookies set so far (e.g. remember-me) Secure when the request came over HTTPS."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies or all("; secure" in c.lower() for c in cookies):
        return
    response.headers.remove("Set-Cookie")
    for cookie in cookies:
        response.headers.add(
            "Set-Cookie", cookie if "; secure" in cookie.lower() else f"{cookie}; Secure"
        )
