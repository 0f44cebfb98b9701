"""sessions pages."""

from survey.web.sessions.routes import bp

__all__ = ["bp"]
