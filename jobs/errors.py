"""How a job reports a failure: one line on stderr and an exit code, the traceback only with ``AVM_DEBUG=1``.

A mistake the user can fix (:class:`avm.errors.UserError`, a missing file, a file that is not media, a bad,
unknown or missing option) prints ``avm <job>: error: <message>`` and exits with 2; anything else prints
``avm <job>: failed: <Type>: <message>`` and exits with 1. A batch in which every input file failed exits with 1
too (:func:`exit_if_every_file_failed`).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from avm.errors import UserError
from avm.media import MediaError

USER_ERRORS = (UserError, FileNotFoundError, MediaError, OmegaConfBaseException)
# where in its Rust sources a library (lance) raised an error: ", /root/.cargo/registry/src/.../aws.rs:319:13"
_RUST_SOURCE = re.compile(r",? /\S+\.rs:\d+:\d+")
F = TypeVar("F", bound=Callable[..., object])


def debugging() -> bool:
    """Whether tracebacks are wanted (``AVM_DEBUG`` set to anything but empty or 0; ``avm --debug`` sets it)."""
    return os.environ.get("AVM_DEBUG", "") not in ("", "0")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].rstrip(".") if text.strip() else ""


def describe(exc: BaseException) -> str:
    """The one line that tells the user what went wrong."""
    if isinstance(exc, MissingConfigException):  # an unknown option of a config group: name the known ones
        known = f" (known: {', '.join(exc.options)})" if exc.options else ""
        return f"{_first_line(str(exc))}{known}"
    if isinstance(exc, HydraException):  # an override Hydra could not apply: what it tried, then why
        cause = exc.__cause__
        why = _first_line(str(cause.msg if isinstance(cause, OmegaConfBaseException) else cause)) if cause else ""
        return f"{_first_line(str(exc))}: {why}" if why else _first_line(str(exc)) or type(exc).__name__
    if isinstance(exc, MissingMandatoryValue) and exc.full_key:
        return f"{exc.full_key} is required (set {exc.full_key}=...)"
    text = str(exc.msg if isinstance(exc, OmegaConfBaseException) else exc).strip()
    if isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    line = _RUST_SOURCE.sub("", text.splitlines()[0]) if text else type(exc).__name__
    key = getattr(exc, "full_key", None)
    return f"{line} (option {key})" if isinstance(exc, OmegaConfBaseException) and key and key not in line else line


def reported(job: str) -> Callable[[F], F]:
    """Decorate a job's task function (under ``@hydra.main``) so that a failure ends the job as described above."""

    def decorate(task: F) -> F:
        @functools.wraps(task)
        def run(*args: object, **kwargs: object) -> object:
            try:
                return task(*args, **kwargs)
            except Exception as exc:
                if debugging():
                    traceback.print_exc()
                if isinstance(exc, USER_ERRORS):
                    print(f"avm {job}: error: {describe(exc)}", file=sys.stderr)
                    raise SystemExit(2) from None
                hint = "" if debugging() else " (AVM_DEBUG=1 for the traceback)"
                print(f"avm {job}: failed: {type(exc).__name__}: {describe(exc)}{hint}", file=sys.stderr)
                raise SystemExit(1) from None

        return run  # type: ignore[return-value]

    return decorate


def exit_if_every_file_failed(job: str, files: int, failures: Sequence[tuple[str, str]]) -> None:
    """End ``job`` with exit code 1 when each of its ``files`` (at least one) failed: a batch that did nothing is a
    failed job for whoever schedules it. A file failing among others is reported (``FAILED`` lines) and the job
    still exits with 0."""
    if files and len(failures) >= files:
        print(f"avm {job}: failed: every one of the {files} input files failed (the FAILED lines above say why)",
              file=sys.stderr)
        raise SystemExit(1)
