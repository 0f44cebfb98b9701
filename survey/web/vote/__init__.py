"""vote pages."""

from survey.web.vote.routes import bp

__all__ = ["bp"]
