"""How the benchmark scripts print their figures: percentages and Markdown tables."""

from __future__ import annotations

from collections.abc import Sequence


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal; ``-`` where there is none."""
    return "-" if x is None else f"{100 * x:.1f}"


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of ``head`` and ``rows`` (cells already formatted)."""
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
