"""``avm <job> [hydra overrides...]``: one console script for every job."""

from __future__ import annotations

import importlib
import sys

JOBS = {
    "ingest": ("jobs.ingest", "fingerprint files into the catalog (input=...)"),
    "scan": ("jobs.scan", "find copies: queries=<files|catalog> → segment pairs"),
    "match": ("jobs.match", "match one file against the catalog and print a table (avm match FILE)"),
    "evaluate": ("jobs.evaluate", "score scan output against a ground-truth CSV"),
    "demo": ("jobs.demo", "build the bundled demo, ingest, scan, evaluate"),
    "train": ("jobs.train", "train a fingerprint model (train=audio|visual)"),
    "bench make": ("jobs.make_benchmark", "build a piracy benchmark from folders of real media (bench=small|standard)"),
}


def usage() -> str:
    lines = ["usage: avm <job> [key=value ...]   (Hydra overrides; add --help for a job's config)", "", "jobs:"]
    lines += [f"  {name:<11} {text}" for name, (_, text) in JOBS.items()]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help", "help"):
        print(usage())
        return
    name, args = sys.argv[1], sys.argv[2:]
    if name == "bench" and args and args[0] == "make":  # a two-word job
        name, args = "bench make", args[1:]
    if name not in JOBS:
        print(f"avm: unknown job {name!r}\n\n{usage()}", file=sys.stderr)
        raise SystemExit(2)
    if name == "match" and args and "=" not in args[0] and not args[0].startswith("-"):
        args = [f"file='{args[0]}'", *args[1:]]
    sys.argv = [f"avm {name}", *args]
    importlib.import_module(JOBS[name][0]).main()


if __name__ == "__main__":
    main()
