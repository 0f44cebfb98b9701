"""The client's address behind trusted reverse proxies: werkzeug's ProxyFix, configured live.

`TRUSTED_PROXIES` (settings or environment) says how many proxies in front of the app append
to X-Forwarded-For; only that many entries from the right are believed, so a phone cannot
forge its address for the rate limits. 0 (the default) ignores the header.
"""

import os

from werkzeug.middleware.proxy_fix import ProxyFix


def trusted_proxies(config) -> int:
    """How many reverse proxies to trust; anything unreadable counts as none."""
    value = config.get("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES", 0))
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


class TrustedProxies:
    """Apply ProxyFix with the number of proxies the settings name at each request."""

    def __init__(self, app):
        self.config = app.config
        self.wsgi_app = app.wsgi_app
        self.fixes: dict[int, ProxyFix] = {}

    def __call__(self, environ, start_response):
        proxies = trusted_proxies(self.config)
        if not proxies:
            return self.wsgi_app(environ, start_response)
        fix = self.fixes.get(proxies)
        if fix is None:
            fix = self.fixes[proxies] = ProxyFix(self.wsgi_app, x_for=proxies)
        return fix(environ, start_response)


def init_proxies(app) -> None:
    app.wsgi_app = TrustedProxies(app)
