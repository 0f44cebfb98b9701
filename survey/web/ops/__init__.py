"""ops pages."""

from survey.web.ops.routes import bp

__all__ = ["bp"]
