"""The review web app: a reviewer checks reported copies by watching query and reference side by side, and saves
verdicts (``avm review``)."""

from avm.review.app import create_app
from avm.review.config import ReviewConfig

__all__ = ["ReviewConfig", "create_app"]
