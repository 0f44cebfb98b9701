"""screen pages."""

from survey.web.screen.routes import bp

__all__ = ["bp"]
