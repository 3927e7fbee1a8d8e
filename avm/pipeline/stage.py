"""The stage contract: a step of the pipeline as a class that declares its resources and maps typed rows.

A stage is built on the driver with plain options (cheap to send to workers), loads what it needs in
``setup()`` once per worker, and maps a batch of rows with ``process()``. It holds no Ray code:
:mod:`avm.pipeline.ray_adapter` runs it on Ray Data, and :func:`run_stages` runs it in this process.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class StageResources:
    """What each worker of a stage asks for, and how many rows one call gets (``ray.<stage>`` in the config)."""

    cpus: float = 1.0
    gpus: float = 0.0
    actors: int = 0  # > 0: an actor pool of up to this many workers (setup() once per actor); 0: Ray tasks
    batch_size: int = 1  # rows per process() call
    # custom Ray resources each worker needs, e.g. {decode: 1}: the stage runs only on nodes that offer them
    # (``ray start --resources='{"decode": 16}'``, or ``resources:`` of a node type in cluster.yaml)
    resources: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclass(kw_only=True)
class Row:
    """Base of the rows that can fail: ``error`` names the file and the reason (empty when the row is fine).

    ``cause`` is the exception itself, so an in-process caller can raise it with its type; it stays in the
    process that caught it (rows sent to another worker carry the text only).
    """

    error: str = ""
    cause: Exception | None = dataclasses.field(default=None, repr=False, compare=False)

    def fail(self, error: str, cause: Exception | None) -> None:
        """Mark this row failed (the first failure wins)."""
        if not self.error:
            self.error, self.cause = error, cause

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "cause": None}


class Stage(ABC, Generic[In, Out]):
    """One step of the pipeline: ``process(rows)`` maps a batch of typed rows to a batch of typed rows.

    ``process`` never raises for one bad row: the failure becomes that row's ``error`` and the batch goes on.
    Stages that run as Ray tasks (``resources.actors == 0``) call ``setup()`` at the start of every task, so
    a stage whose setup is heavy (models, connections) should run in actors.
    """

    name: ClassVar[str] = "stage"  # its key under ``ray`` in the config, and its operator's name on Ray
    default_resources: ClassVar[StageResources] = StageResources()  # what it asks for unless configured
    # process() yields its rows as it makes them (e.g. the pieces of a long file): each travels on alone
    streams: ClassVar[bool] = False

    def __init__(self, resources: StageResources | None = None) -> None:
        self.resources = resources or dataclasses.replace(self.default_resources)

    def setup(self) -> None:
        """Load what the stage needs (models, a store connection); called once per worker before process()."""

    @abstractmethod
    def process(self, rows: list[In]) -> Iterable[Out]:
        """The output rows of the input rows, in order (a failed row carries its error): one per input row, or
        for some stages several (the pieces of a file) or none yet (parts waiting for the rest of their file)."""


def run_stages(stages: Sequence[Stage[Any, Any]], rows: Iterable[Any]) -> list[Any]:
    """Run ``rows`` through ``stages`` in this process (setup() once per stage, no Ray). Each row goes through
    every stage before the next is read, and so does each piece a stage yields: memory holds one piece at a time."""
    for stage in stages:
        stage.setup()
    return list(_flow(stages, rows))


def _flow(stages: Sequence[Stage[Any, Any]], rows: Iterable[Any]) -> Iterator[Any]:
    if not stages:
        yield from rows
        return
    for row in rows:
        out = stages[0].process([row])
        try:
            yield from _flow(stages[1:], out)
        finally:
            if isinstance(out, Generator):
                out.close()  # a stage that streams stops (and its ffmpeg with it) when a later one fails
