"""admin pages."""

from survey.web.admin.routes import bp

__all__ = ["bp"]
