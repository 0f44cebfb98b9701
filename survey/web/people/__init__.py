"""廉政档案: one page per person across sessions, seasons, 质询 and 整改."""

from survey.web.people.routes import bp

__all__ = ["bp"]
