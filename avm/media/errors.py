"""The one error type the media stage raises: it always names the file and the reason."""


class MediaError(Exception):
    """A file that cannot be probed or decoded; ``str()`` names the file and why."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(f"{uri}: {reason}")
        self.uri = uri
        self.reason = reason
