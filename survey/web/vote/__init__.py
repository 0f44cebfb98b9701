"""vote pages."""

from survey.web.vote.fast import install as install_fast_path
from survey.web.vote.routes import bp

__all__ = ["bp", "install_fast_path"]
