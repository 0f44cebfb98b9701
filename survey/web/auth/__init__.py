"""auth pages."""

from survey.web.auth.routes import bp

__all__ = ["bp"]
