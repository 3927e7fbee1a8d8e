"""Thin Hydra entry points, one per job; ``avm <job>`` dispatches to them (see jobs/cli.py)."""
