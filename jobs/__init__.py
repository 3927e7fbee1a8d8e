"""Thin Hydra entry points, one per job; ``avm <job>`` dispatches to them (see jobs/cli.py)."""

from pathlib import Path

# Absolute, so the jobs find conf/ however they are started (console script, python -m, a file path).
CONFIG_DIR = str(Path(__file__).resolve().parent.parent / "conf")
