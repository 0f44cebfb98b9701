"""Ballot-code pages: issue codes per rater group, void them, print the cards."""

from survey.web.codes.routes import bp

__all__ = ["bp"]
