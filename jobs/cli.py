"""``avm <job> [hydra overrides...]``: one console script for every job."""

from __future__ import annotations

import importlib
import os
import re
import sys

JOBS = {
    "ingest": ("jobs.ingest", "fingerprint files into the catalog (input=...)"),
    "scan": ("jobs.scan", "find copies: queries=<files|catalog> → segment pairs"),
    "nightly": ("jobs.nightly", "the day's uploads: decode once, add to the catalog, scan against it (input=...)"),
    "match": ("jobs.match", "match one file against the catalog and print a table (avm match FILE)"),
    "evaluate": ("jobs.evaluate", "score scan output against a ground-truth CSV"),
    "demo": ("jobs.demo", "build the bundled demo, ingest, scan, evaluate"),
    "train": ("jobs.train", "train a fingerprint model (train=audio|visual)"),
    "fit-projection": ("jobs.fit_projection", "fit the projection of compact fingerprints (projection.modality=...)"),
    "delete": ("jobs.delete", "take videos down: ids=[a,b] or manifest=... reason=... [--dry-run]"),
    "list": ("jobs.list_videos", "the catalog's videos with status, hours and models [status=...]"),
    "stats": ("jobs.stats", "rows, index coverage, model versions and bytes of the catalog"),
    "reindex": ("jobs.reindex", "switch the catalog to other models while scans go on [action=build|rollback|cleanup]"),
    "review": ("jobs.review", "the review web page: watch reported copies side by side, save verdicts (results=...)"),
    "bench make": ("jobs.make_benchmark", "build a piracy benchmark from folders of real media (bench=small|standard)"),
}


def usage() -> str:
    lines = ["usage: avm [--debug] <job> [key=value ...]   (Hydra overrides; add --help for a job's config)",
             "       avm match [--] FILE [key=value ...]", "", "jobs:"]
    lines += [f"  {name:<11} {text}" for name, (_, text) in JOBS.items()]
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
    sys.argv = [f"avm {name}", *args]
    importlib.import_module(JOBS[name][0]).main()


if __name__ == "__main__":
    main()
