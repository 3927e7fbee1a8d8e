"""AVM: audio/video matching of re-uploaded segments against a licensed catalog."""

__version__ = "0.1.0"
