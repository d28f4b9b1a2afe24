"""A stable content hash of an OHLCV frame: what an artifact records of its training data."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data.schema import OHLCV_COLUMNS, as_datetime_index
from bt_attention_lstm.models.errors import DataError


def data_fingerprint(df: pd.DataFrame) -> str:
    """sha256 hex of the index (int64 nanoseconds) and the OHLCV values (float64), stable
    across runs and machines (little-endian bytes, fixed column order)."""
    missing = [c for c in OHLCV_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"cannot fingerprint data without column(s) {', '.join(missing)}")
    idx = as_datetime_index(df.index).as_unit("ns")
    h = hashlib.sha256()
    h.update(b"ohlcv-v1")
    h.update(np.ascontiguousarray(idx.asi8, dtype="<i8").tobytes())
    values = df[list(OHLCV_COLUMNS)].to_numpy(dtype=np.float64)
    h.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return h.hexdigest()
