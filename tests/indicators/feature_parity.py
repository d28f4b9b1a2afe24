"""Test support for feature parity: every market frame the tests' data directory holds, and the
comparison of per-bar feature rows with the offline ``feature_matrix``.

Tolerance (the streaming contract): |got - offline| <= 1e-9 * |offline|, or <= 1e-12 near 0;
NaN exactly where the offline rows are NaN. In practice the deviation is 0: TA-Lib's Streaming
API is bit-identical to its Function API, and the per-row arithmetic is the same operations.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bt_attention_lstm.models.data import load_price_panel
from bt_attention_lstm.models.errors import DataError
from tests.conftest import DATA_DIR, load_market_file

RTOL = 1e-9
ATOL = 1e-12
DATA_SUFFIXES = (".txt", ".csv")


@functools.cache
def shipped_files() -> dict[str, dict[str, pd.DataFrame]]:
    """file name -> {frame name: frame}: the file itself (``name``) for one symbol, OHLCV or
    close only; one close-only frame per column (``name#SYMBOL``) for a wide price file."""
    files: dict[str, dict[str, pd.DataFrame]] = {}
    for path in sorted(DATA_DIR.iterdir()):
        if path.suffix not in DATA_SUFFIXES:
            continue
        try:
            panel = load_price_panel(path)
        except DataError:  # not a wide price file
            files[path.name] = {path.name: load_market_file(path)}
        else:
            files[path.name] = {f"{path.name}#{sym}": df for sym, df in panel.items()}
    return files


def shipped_frames() -> dict[str, pd.DataFrame]:
    """Every frame of every shipped file, by frame name."""
    return {name: df for frames in shipped_files().values() for name, df in frames.items()}


def deviations(got: np.ndarray, offline: np.ndarray, names: Sequence[str]) -> dict[str, tuple]:
    """Per feature: (max |got - offline|, max relative deviation, bars outside tolerance,
    bars whose NaN pattern differs)."""
    out = {}
    for j, name in enumerate(names):
        g, o = got[:, j], offline[:, j]
        nan_mismatch = int((np.isnan(g) != np.isnan(o)).sum())
        both = np.isfinite(g) & np.isfinite(o)
        diff = np.abs(g[both] - o[both])
        rel = diff / np.maximum(np.abs(o[both]), np.finfo(np.float64).tiny)
        bad = int((diff > np.maximum(ATOL, RTOL * np.abs(o[both]))).sum())
        out[name] = (
            float(diff.max(initial=0.0)), float(rel.max(initial=0.0)), bad, nan_mismatch
        )
    return out


def assert_rows_match(got: np.ndarray, offline: np.ndarray, names: Sequence[str], what: str
                      ) -> None:
    """Fail naming each feature outside the tolerance, with its deviations."""
    assert got.shape == offline.shape, f"{what}: shape {got.shape} != {offline.shape}"
    bad = {n: d for n, d in deviations(got, offline, names).items() if d[2] or d[3]}
    assert not bad, (
        f"{what}: streaming rows differ from feature_matrix "
        f"(feature: max abs, max rel, bars out of tolerance, NaN mismatches): {bad}"
    )
