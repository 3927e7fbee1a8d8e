"""avm review: the review web app over the catalog and the scan results (``results=``), until Ctrl-C."""

import logging
import secrets

import hydra
import uvicorn
from omegaconf import DictConfig

from avm.config import CONFIG_DIR, to_options
from avm.errors import UserError
from avm.index import FingerprintStore
from avm.review import ReviewConfig, create_app
from jobs.errors import reported
from jobs.schemas import register_configs

register_configs()
log = logging.getLogger("avm.review")


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="review")
@reported("review")
def main(cfg: DictConfig) -> None:
    job = to_options(cfg, ReviewConfig)
    if not FingerprintStore(job.index).exists():
        raise UserError(f"no catalog at {job.index.uri}: give index.uri= (or paths.output_dir=) of an ingested store")
    token = job.token or (secrets.token_urlsafe(16) if job.needs_token else None)
    app = create_app(job, token)
    runs = len(app.state.review.runs())
    address = f"http://{'[' + job.host + ']' if ':' in job.host else job.host}:{job.port}/"
    print(f"review page: {address}{'?token=' + token if token else ''}  ({runs} runs under {job.results}; Ctrl-C stops)",
          flush=True)
    uvicorn.run(app, host=job.host, port=job.port, log_level="warning")


if __name__ == "__main__":
    main()
