"""Dependencies between the hub's packages run one way: no two packages import each other (at module
level or inside a function: a lazy import is a dependency all the same), and the command line does
not reach into operators (they are Airflow's adapters, the CLI calls the library beneath them).
"""

from __future__ import annotations

import ast
import collections
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "plugins" / "invoice_hub"

#: Package pairs that still import each other, with what is in the way: none. A pair added here must
#: say why, and be removed when untangled.
KNOWN: set[tuple[str, str]] = set()


def _unit(module: str) -> str:
    """The package (or top-level module) of ``invoice_hub.x.y``: ``x``."""
    return module.split(".")[1] if module.count(".") else module


def _imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = collections.defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        unit = parts[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("invoice_hub.") and _unit(name) != unit:
                    edges[unit].add(_unit(name))
    return edges


def test_no_two_packages_import_each_other() -> None:
    edges = _imports()
    assert {"formats", "validation", "ledger", "exchange", "config"} <= edges.keys()  # the walk saw them
    loops = {tuple(sorted((a, b))) for a, targets in edges.items() for b in targets if a in edges.get(b, ())}
    assert loops == KNOWN, (
        f"packages importing each other: {sorted(loops - KNOWN)}; untangled: {sorted(KNOWN - loops)}"
    )


def test_the_command_line_does_not_import_operators() -> None:
    assert "operators" not in _imports()["cli"]
