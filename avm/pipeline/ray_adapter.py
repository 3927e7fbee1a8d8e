"""Stages on Ray Data (the only Ray code): a session, and one adapter that maps any stage onto ``map_batches``.

Rows travel between stages as pickled row objects (numpy arrays as out-of-band buffers, so they are neither
copied into the pickle nor out of it), converted in this module only.
"""

from __future__ import annotations

import itertools
import logging
import os
import pickle
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyarrow as pa
import ray
from ray import cloudpickle

from avm.pipeline.config import RayOptions
from avm.pipeline.stage import Stage

log = logging.getLogger(__name__)

ROW_COLUMN, BUFFERS_COLUMN = "row", "buffers"
MAX_INPUT_BLOCKS = 2000  # small input blocks (one row each, up to this many) so that the first stage spreads out


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


def _binary(chunks: list[memoryview]) -> pa.LargeBinaryArray:
    """``chunks`` as one binary array, copied once through numpy (``pa.array`` keeps alive every memoryview it
    converts, and with it the array it views: a worker would hold every file it ever decoded)."""
    offsets = np.zeros(len(chunks) + 1, np.int64)
    np.cumsum([c.nbytes for c in chunks], out=offsets[1:])
    values = np.concatenate([np.frombuffer(c, np.uint8) for c in chunks if c.nbytes] or [np.zeros(0, np.uint8)])
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(chunks),
                                            [None, pa.py_buffer(offsets), pa.py_buffer(values)])


def _to_batch(rows: list[Any]) -> pa.Table:
    """Rows as a table of one pickled row each; their numpy arrays travel as raw buffers beside the pickle."""
    pickles, buffers, per_row = [], [], [0]
    for row in rows:
        found: list[pickle.PickleBuffer] = []
        # cloudpickle: rows of classes defined in a notebook or a script's __main__ travel too
        pickles.append(cloudpickle.dumps(row, protocol=5, buffer_callback=found.append))
        buffers += [b.raw() for b in found]
        per_row.append(len(buffers))
    return pa.table({ROW_COLUMN: pa.array(pickles, pa.large_binary()),
                     BUFFERS_COLUMN: pa.ListArray.from_arrays(pa.array(per_row, pa.int32()), _binary(buffers))})


def _from_batch(batch: pa.Table) -> list[Any]:
    """The rows of a table made by :func:`_to_batch` (their arrays are views of the batch's buffers, not copies)."""
    return [pickle.loads(row.as_buffer(), buffers=[b.as_buffer() for b in buffers.values])
            for row, buffers in zip(batch[ROW_COLUMN], batch[BUFFERS_COLUMN], strict=True)]


class StageActor:
    """One Ray actor of a stage's pool: sets the stage up once, then processes batch after batch."""

    def __init__(self, stage: Stage[Any, Any]) -> None:
        self.stage = stage
        stage.setup()

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        yield from _process(self.stage, batch)


def _process(stage: Stage[Any, Any], batch: pa.Table) -> Iterator[pa.Table]:
    """``stage``'s output of ``batch``: one table, or one per row as a streaming stage yields them (none when
    there is no row yet). Ray merges the tables a task yields into blocks of up to ``target_max_block_size``
    (128 MiB) and pauses the task while two of its blocks wait unread, so a decode worker holds a few pieces of a
    long file, not the file."""
    rows = stage.process(_from_batch(batch))
    if stage.streams:
        for row in rows:
            yield _to_batch([row])
        return
    rows = list(rows)
    if rows:
        yield _to_batch(rows)


def _task(stage: Stage[Any, Any]) -> Callable[[pa.Table], Iterator[pa.Table]]:
    """The function of one Ray task of ``stage``: set the stage up, process the batch."""
    def run(batch: pa.Table) -> Iterator[pa.Table]:
        stage.setup()
        yield from _process(stage, batch)
    run.__name__ = run.__qualname__ = stage.name  # Ray names the operator after it
    return run


def rows_dataset(rows: list[Any]) -> ray.data.Dataset:
    """A dataset of ``rows`` in small blocks, ready for :func:`map_stage`."""
    blocks = max(1, min(len(rows), MAX_INPUT_BLOCKS))
    table, bounds = _to_batch(rows), np.linspace(0, len(rows), blocks + 1).astype(int)
    return ray.data.from_arrow([table.slice(start, stop - start) for start, stop in itertools.pairwise(bounds)])


def map_stage(dataset: ray.data.Dataset, stage: Stage[Any, Any]) -> ray.data.Dataset:
    """``dataset`` mapped by ``stage``: an actor pool of up to ``resources.actors`` when that is > 0, Ray tasks
    otherwise; CPUs, GPUs, custom resources (which nodes may run it) and rows per call from the stage's
    resources."""
    res = stage.resources
    common = {"batch_size": res.batch_size, "batch_format": "pyarrow", "num_cpus": res.cpus,
              "num_gpus": res.gpus or None, "resources": dict(res.resources) or None}
    if res.actors > 0:
        actor = type(stage.name, (StageActor,), {})  # Ray names the operator and its actors after it
        return dataset.map_batches(actor, fn_constructor_kwargs={"stage": stage},
                                   compute=ray.data.ActorPoolStrategy(min_size=1, max_size=res.actors), **common)
    return dataset.map_batches(_task(stage), **common)


def iter_rows(dataset: ray.data.Dataset) -> Iterator[Any]:
    """The rows of ``dataset`` as they come out of its last stage."""
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        yield from _from_batch(batch)
