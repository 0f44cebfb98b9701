"""The addresses printed on cards and shown on the meeting screen."""

from flask import current_app

from survey.security import canonical_code, display_code


def vote_url(code: str, base_url: str | None = None) -> str:
    """Return the address a card's QR code leads to: {PUBLIC_BASE_URL}/v/ABCDE-FGHJK."""
    return f"{entry_url(base_url)}/{display_code(canonical_code(code))}"


def entry_url(base_url: str | None = None) -> str:
    """Return the code entry page's address: {PUBLIC_BASE_URL}/v."""
    base = current_app.config["PUBLIC_BASE_URL"] if base_url is None else base_url
    return f"{base.rstrip('/')}/v"
