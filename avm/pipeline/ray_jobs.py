"""Ray Data wiring: decode on CPU tasks, fingerprint in an actor pool, search in another (Ray only here)."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import ray

from avm.fingerprint import FingerprintOptions
from avm.index import IndexOptions
from avm.manifest import ManifestEntry
from avm.match import MatchOptions
from avm.media import DecodeOptions
from avm.pipeline.options import RayOptions
from avm.pipeline.stages import DecodeStage, FingerprintStage, QueryStage

log = logging.getLogger(__name__)

MAX_INPUT_BLOCKS = 2000


@contextmanager
def ray_session(opts: RayOptions) -> Iterator[None]:
    """Connect to the configured cluster (``ray.address`` or ``RAY_ADDRESS``) or start a local Ray; shut down after."""
    address = opts.address or os.environ.get("RAY_ADDRESS") or None
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"include_dashboard": False, "runtime_env": opts.runtime_env or None}
        if address is None:
            kwargs["num_cpus"] = opts.num_cpus or os.cpu_count()
        with warnings.catch_warnings():
            # Ray starts its processes with fork+exec; lancedb's warning is about a fork that keeps running Python.
            warnings.filterwarnings("ignore", message="lancedb fork support is experimental")
            warnings.filterwarnings("ignore", message="lance is not fork-safe")
            ray.init(address=address, **kwargs)
        log.info("ray: %s, resources %s", address or "local", ray.cluster_resources())
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = opts.progress_bars
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield
    finally:
        if started_here:
            ray.shutdown()


def _pool(size: int) -> ray.data.ActorPoolStrategy:
    return ray.data.ActorPoolStrategy(min_size=1, max_size=max(1, size))


def fingerprint_dataset(entries: list[ManifestEntry], decode: DecodeOptions, fingerprint: FingerprintOptions,
                        opts: RayOptions, steps: dict[str, float] | None = None) -> ray.data.Dataset:
    """Dataset of one row per input file with its fingerprints (or its error)."""
    items = [{"uri": e.uri, "video_id": e.video_id} for e in entries]
    # small blocks (one file each, up to a cap) so that decoding spreads over every CPU
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), MAX_INPUT_BLOCKS)))
    ds = ds.map(DecodeStage(decode), num_cpus=opts.decode_cpus)
    return ds.map_batches(FingerprintStage, fn_constructor_kwargs={"opts": fingerprint, "steps": steps},
                          batch_size=opts.embed_batch_size, batch_format="numpy", compute=_pool(opts.embed_actors),
                          num_cpus=opts.embed_cpus, num_gpus=opts.embed_gpus or None)


def query_dataset(source: ray.data.Dataset, index: IndexOptions, match: dict[str, MatchOptions], k: int,
                  modalities: tuple[str, ...], catalog: bool, opts: RayOptions) -> ray.data.Dataset:
    """Search and align every query row of ``source`` (fingerprinted rows, or catalog ids)."""
    return source.map_batches(QueryStage, fn_constructor_kwargs={"index": index, "match": match, "k": k,
                                                                 "modalities": modalities, "catalog": catalog},
                              batch_size=8, batch_format="numpy", compute=_pool(opts.query_actors),
                              num_cpus=opts.query_cpus)


def catalog_dataset(video_ids: list[str]) -> ray.data.Dataset:
    """Dataset of catalog video ids to scan against the rest of the catalog."""
    return ray.data.from_items([{"video_id": v, "error": ""} for v in video_ids],
                               override_num_blocks=max(1, min(len(video_ids), MAX_INPUT_BLOCKS)))
