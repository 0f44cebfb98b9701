"""inquiries pages."""

from survey.web.inquiries.routes import bp

__all__ = ["bp"]
