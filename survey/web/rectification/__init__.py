"""整改 pages: a closed session's feedback turned into items with deadlines, and their reports."""

from survey.web.rectification.routes import bp

__all__ = ["bp"]
