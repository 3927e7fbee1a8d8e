"""SQL literals for LanceDB filter expressions (``where`` clauses and delete predicates)."""

from __future__ import annotations

from collections.abc import Iterable


def sql_literal(value: str) -> str:
    """``value`` as a quoted SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    """``values`` as a parenthesised list of SQL string literals, for ``IN``."""
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"
