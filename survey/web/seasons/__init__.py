"""seasons pages."""

from survey.web.seasons.routes import bp

__all__ = ["bp"]
