"""Conversion of report data to strict JSON (no NaN/Infinity tokens, no numpy types)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def to_jsonable(value: Any) -> Any:
    """Recursively turn `value` into plain JSON types; non-finite floats become None.

    Python's json writes NaN and Infinity as bare tokens that strict parsers reject, and an
    undefined statistic (a Sortino without losing bars) is better said as null.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray, pd.Series)):
        return [to_jsonable(v) for v in list(value)]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is pd.NaT or value is pd.NA:
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def dumps_strict(value: Any) -> str:
    """JSON text of `value` (indent 2); raises rather than emit a NaN token."""
    return json.dumps(to_jsonable(value), indent=2, allow_nan=False) + "\n"
