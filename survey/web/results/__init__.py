"""results pages."""

from survey.web.results.routes import bp

__all__ = ["bp"]
