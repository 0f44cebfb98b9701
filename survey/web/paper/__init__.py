"""paper pages."""

from survey.web.paper.routes import bp

__all__ = ["bp"]
