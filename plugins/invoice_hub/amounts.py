"""Amounts as integer units of 1/10,000, the scale open-AR snapshots are compared at: vectorised
float64 integers while that is exact, Python ints beyond, so that a cent on 20 digits is still a cent.

A module of its own because the ledger (reading open receivables) and the reconciliation (reading a
report) both convert, and neither may import the other.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

import numpy as np
import pandas as pd

#: Amounts are compared in these units (1/10,000).
UNITS_PER_AMOUNT = 10_000
#: Below this size an amount goes through a float64 to its units exactly: its rounding error (half
#: an ulp, under 1.6e-5 below 2**37) times 10,000 stays well under half a unit, so ``rint`` finds the
#: right one. From 2**37 (about 1.4e11) on it does not (a 9e11 amount can land one unit off), so
#: amounts from 10**11 on are converted and compared as exact integers (Python ints).
FLOAT_EXACT_BELOW = 10**11
_WIDE = Context(prec=80)


def units_to_amount(units: float) -> Decimal | None:
    """An amount back from :data:`UNITS_PER_AMOUNT` (NaN: unknown), exact for any width."""
    return None if units != units else Decimal(int(units)).scaleb(-4, _WIDE)


def amounts_to_units(amounts: np.ndarray) -> np.ndarray:
    """Amounts (Decimals or their text; None or NaN: unknown) in :data:`UNITS_PER_AMOUNT`, NaN where
    unknown: float64 integers, vectorised, when every amount is below :data:`FLOAT_EXACT_BELOW`; else
    exact Python ints in an object array, so that a cent on 20 digits is still a cent (comparisons
    work alike on both)."""
    values = np.asarray(amounts, dtype=object)
    present = pd.notna(values)
    floats = np.full(len(values), np.nan)
    if present.any():
        floats[present] = values[present].astype(float)
    if not (np.abs(floats[present]) >= FLOAT_EXACT_BELOW).any():
        return np.rint(floats * UNITS_PER_AMOUNT)
    exact = np.full(len(values), np.nan, dtype=object)
    exact[present] = [
        int(Decimal(str(v)).scaleb(4, _WIDE).to_integral_value(ROUND_HALF_EVEN, _WIDE))
        for v in values[present]
    ]
    return exact
