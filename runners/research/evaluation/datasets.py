"""The data sets an evaluation names: files, or the built-in synthetic markets by name."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.data.synthetic import (
    planted_edge_market,
    random_walk_market,
    synthetic_market,
)
from bt_attention_lstm.models.errors import DataError

logger = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "synthetic:"
# The built-in markets evaluate names, with their sizes and seeds fixed here.
RANDOM_WALK_BARS = 4000
SYNTHETIC_NAMES = (
    "synthetic:default (synthetic_market(4000, seed=7))",
    "synthetic:planted (planted_edge_market(3000, seed=5))",
    "synthetic:planted:SEED (planted_edge_market(3000, SEED): other paths of the same process)",
    f"synthetic:random-walk:SEED (random_walk_market({RANDOM_WALK_BARS}, SEED))",
)


def load_dataset(spec: str, fmt: str = "auto") -> tuple[str, pd.DataFrame]:
    """(display name, frame) of one data set: a file path or ``synthetic:NAME``."""
    if not spec.startswith(SYNTHETIC_PREFIX):
        df = load_ohlcv(spec, fmt)
        return Path(spec).name, df
    parts = spec[len(SYNTHETIC_PREFIX) :].split(":")
    if parts == ["default"]:
        return spec, synthetic_market(4000, seed=7)
    if parts == ["planted"]:
        return spec, planted_edge_market(3000, seed=5)
    if len(parts) == 2 and parts[0] in ("random-walk", "planted"):
        try:
            seed = int(parts[1])
        except ValueError:
            raise DataError(f"{spec!r}: the {parts[0]} seed must be an integer") from None
        if parts[0] == "planted":
            return spec, planted_edge_market(3000, seed)
        return spec, random_walk_market(RANDOM_WALK_BARS, seed)
    raise DataError(
        f"unknown synthetic market {spec!r}; use one of: " + ", ".join(SYNTHETIC_NAMES)
    )
