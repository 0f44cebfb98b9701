"""Security headers on every page, careful cookies, and templates the CSP will not break."""

import re
from pathlib import Path

import pytest

from survey import PROJECT_ROOT, create_app
from survey.extensions import db
from survey.web.headers import CONTENT_SECURITY_POLICY
from tests.conftest import _test_config, login

TEMPLATES = PROJECT_ROOT / "templates"


def assert_protected(response, referrer="same-origin"):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == referrer


def test_staff_pages_errors_and_static_files_carry_the_headers(client, open_session):
    for path in ("/login", "/sessions", "/no-such-page", "/static/app.css", "/healthz"):
        assert_protected(client.get(path))
    login(client, open_session.organizer, open_session.password)
    page = client.get(f"/sessions/{open_session.session.id}")
    assert page.status_code == 200
    assert_protected(page)


def test_ballot_pages_keep_their_no_referrer(client, open_session):
    for path in ("/v", f"/v/{open_session.codes[0]}", "/v/ABCDE-FGHJK", "/v/done"):
        assert_protected(client.get(path), referrer="no-referrer")


def test_session_cookie_is_httponly_and_lax(client, make_user):
    user = make_user()
    response = login(client, user.username)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on the hall's network would lose the login


def test_cookies_are_secure_when_served_over_https(database_url, make_user):
    config = {**_test_config(database_url), "PUBLIC_BASE_URL": "https://vote.example.test"}
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    username = make_user().username
    # A second app has its own connections: the test must not hold SQLite's write lock.
    db.session.commit()
    response = login(app.test_client(), username)
    assert "Secure" in response.headers["Set-Cookie"]


def test_cookies_are_secure_on_an_https_request(app):
    # The login page stores its CSRF token in the session, so it sets the cookie.
    secure = app.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]
    plain = app.test_client().get("/login")
    assert "Secure" not in plain.headers["Set-Cookie"]


PATTERNS = {
    "inline <script> code": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> block": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"\sstyle\s*=", re.I),
    "on…= event handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: address": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_nothing_the_csp_would_block(template: Path):
    text = template.read_text(encoding="utf-8")
    found = [what for what, pattern in PATTERNS.items() if pattern.search(text)]
    assert not found, f"{template.relative_to(PROJECT_ROOT)}: {', '.join(found)}"
