"""The ``avm review`` job's config."""

from __future__ import annotations

from dataclasses import dataclass

from avm.config import ranged
from avm.pipeline.config import MatchFileConfig, MatchingConfig

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class ReviewConfig(MatchingConfig):
    """``avm review``: a local web app over the catalog (``index``) and the scan results under ``results``."""

    results: str = "${paths.output_dir}/scan"  # a scan job's output_dir (its matches/ and runs/)
    uploads: str = "${paths.output_dir}/review"  # uploaded files and their match runs
    host: str = "127.0.0.1"
    port: int = ranged(8765, 1, 65535)
    # required from every request when host is not a loopback address (``?token=`` once, then a cookie); None there:
    # one is generated and printed with the page's address
    token: str | None = None
    page_size: int = ranged(50, 1)  # queries per page of the query list
    max_upload_mb: int = ranged(4096, 1)
    reviewer: str | None = None  # recorded with each verdict (default: the login name)

    @property
    def needs_token(self) -> bool:
        return self.host not in LOOPBACK_HOSTS

    def match_config(self) -> MatchFileConfig:
        """The in-process match of an uploaded file, with this config's groups."""
        return MatchFileConfig(paths=self.paths, media=self.media, model=self.model, index=self.index,
                               match=self.match, search=self.search, file="")
