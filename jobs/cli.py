"""``avm <job> [hydra overrides...]``: one console script for every job."""

from __future__ import annotations

import importlib
import os
import re
import sys
from typing import NamedTuple


class Job(NamedTuple):
    """A job of the ``avm`` command: its module (with ``main``), its primary config in ``conf/`` and what it does."""

    module: str
    config: str
    text: str


JOBS = {
    "ingest": Job("jobs.ingest", "ingest", "fingerprint files into the catalog (input=...)"),
    "scan": Job("jobs.scan", "scan", "find copies: queries=<files|catalog> → segment pairs"),
    "nightly": Job("jobs.nightly", "nightly", "the day's uploads: decode once, add to the catalog, scan against it (input=...)"),
    "match": Job("jobs.match", "match_file", "match one file against the catalog and print a table (avm match FILE)"),
    "evaluate": Job("jobs.evaluate", "evaluate", "score scan output against a ground-truth CSV"),
    "demo": Job("jobs.demo", "demo", "build the bundled demo, ingest, scan, evaluate"),
    "train": Job("jobs.train", "train", "train a fingerprint model (train=audio|visual)"),
    "fit-projection": Job("jobs.fit_projection", "fit_projection", "fit the projection of compact fingerprints (projection.modality=...)"),
    "delete": Job("jobs.delete", "delete", "take videos down: ids=[a,b] or manifest=... reason=... [--dry-run]"),
    "list": Job("jobs.list_videos", "inventory", "the catalog's videos with status, hours and models [status=...]"),
    "stats": Job("jobs.stats", "inventory", "rows, index coverage, model versions and bytes of the catalog"),
    "reindex": Job("jobs.reindex", "reindex", "switch the catalog to other models while scans go on [action=build|rollback|cleanup]"),
    "review": Job("jobs.review", "review", "the review web page: watch reported copies side by side, save verdicts (results=...)"),
    "bench make": Job("jobs.make_benchmark", "make_benchmark", "build a piracy benchmark from folders of real media (bench=small|standard|hard)"),
}


def usage() -> str:
    lines = ["usage: avm [--debug] <job> [key=value ...]   (Hydra overrides; add --help for a job's config)",
             "       avm match [--] FILE [key=value ...]", "", "jobs:"]
    lines += [f"  {name:<11} {job.text}" for name, job in JOBS.items()]
    return "\n".join(lines)


def hydra_quoted(value: str) -> str:
    """``value`` as a quoted value of Hydra's override grammar that reaches the job literally.

    OmegaConf reads ``${`` as an interpolation (kept literal as ``\\${``, with the backslashes before it doubled);
    Hydra then reads backslashes only before a quote, including the closing one.
    """
    value = re.sub(r"(\\*)\$\{", lambda m: m[1] * 2 + "\\${", value)
    value = re.sub(r"(\\*)'", lambda m: m[1] * 2 + "\\'", value)
    return "'" + re.sub(r"(\\+)$", lambda m: m[1] * 2, value) + "'"


def match_file_arg(args: list[str]) -> list[str]:
    """``avm match`` arguments with the leading FILE (if any) turned into a ``file=`` override.

    FILE is the argument after ``--``, an existing file, or a first argument that is neither ``key=value`` nor
    an option.
    """
    if args and args[0] == "--" and len(args) > 1:
        return [f"file={hydra_quoted(args[1])}", *args[2:]]
    if args and (os.path.isfile(args[0]) or ("=" not in args[0] and not args[0].startswith("-"))):
        return [f"file={hydra_quoted(args[0])}", *args[1:]]
    return args


def check_overrides(job: str, config: str, overrides: list[str]) -> None:
    """Compose ``config`` with ``overrides`` into the job's options as the job will, before Hydra starts it: a
    mistyped key, a value of the wrong type or out of its range, an unknown group option then end the job as any
    user error does, with one line and exit code 2, and nothing written (Hydra, left to itself, prints several
    lines, exits with 1 and has made its run folder)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import open_dict

    from avm.config import CONFIG_DIR, to_options
    from avm.errors import UserError
    from jobs.errors import describe, reported
    from jobs.schemas import JOB_SCHEMAS, register_configs

    @reported(job)
    def composed() -> None:
        try:
            with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
                cfg = compose(config_name=config, overrides=overrides, return_hydra_config=True)
        except HydraException as exc:
            raise UserError(describe(exc)) from exc
        with open_dict(cfg):
            del cfg["hydra"]
        to_options(cfg, JOB_SCHEMAS[config])

    register_configs()
    composed()


def main() -> None:
    argv = sys.argv[1:]
    if "--debug" in argv[: argv.index("--") if "--" in argv else len(argv)]:
        argv.remove("--debug")
        os.environ["AVM_DEBUG"] = "1"
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return
    name, args = argv[0], argv[1:]
    if name == "bench" and args and args[0] == "make":  # a two-word job
        name, args = "bench make", args[1:]
    if name not in JOBS:
        print(f"avm: unknown job {name!r}\n\n{usage()}", file=sys.stderr)
        raise SystemExit(2)
    if name == "match":
        args = match_file_arg(args)
    if name == "delete":
        args = ["dry_run=true" if a == "--dry-run" else a for a in args]
    if not any(a.startswith(("-", "hydra.mode=")) or "${hydra:" in a for a in args):  # left to Hydra: its flags
        check_overrides(name, JOBS[name].config, args)  # (--help, --cfg, -m), a multirun, its runtime values
    sys.argv = [f"avm {name}", *args]
    importlib.import_module(JOBS[name].module).main()


if __name__ == "__main__":
    main()
