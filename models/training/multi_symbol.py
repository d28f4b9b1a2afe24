"""Several symbols, one model: features and labels per symbol, computed in worker processes.

Each symbol becomes its own ``Segment`` (features and labels from that symbol's bars only), so the
Trainer's windows never cross from one symbol into another. ``_features_for`` is a module-level
function of picklable arguments: a process pool can send it to workers (a closure could not be).
A wide price file (one close column per symbol) is several symbols: ``expand_data_paths`` turns
it into one ``path#SYMBOL`` source each.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import os
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import TypeAlias

import pandas as pd

from bt_attention_lstm.models.data import load_ohlcv, wide_symbols
from bt_attention_lstm.models.data.price_panel import source_spec
from bt_attention_lstm.models.datasets import resolve_source
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.training.classifier import Segment, TrainConfig
from bt_attention_lstm.models.training.pipeline import segment_of

logger = logging.getLogger(__name__)

DATA_SUFFIXES = (".csv", ".txt", ".parquet")

Source: TypeAlias = str | Path | pd.DataFrame


def expand_data_paths(paths: Sequence[str]) -> list[str]:
    """``data`` sources as one source per symbol: a directory becomes its csv/txt/parquet files
    (sorted), and a wide price file (``Date,AAPL,AMD,...``) its ``path#SYMBOL`` specs in column
    order; other values (files, ``path#SYMBOL`` specs, paths that do not exist) stay as given.
    """
    out: list[str] = []
    for given in paths:
        raw = resolve_source(given)  # sample:FILE is a shipped file
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
            )
            if not files:
                raise DataError(f"`data`={raw}: no {'/'.join(DATA_SUFFIXES)} files in it")
            for file in files:
                out.extend(_symbol_sources(str(file)))
        else:
            out.extend(_symbol_sources(str(raw)))
    return out


def _symbol_sources(path: str) -> list[str]:
    """``[path]``, or one ``path#SYMBOL`` per column of a wide price file."""
    if not Path(path).is_file():
        return [path]
    symbols = wide_symbols(path)
    if symbols:
        logger.info("%s: a wide price file, %d symbols", path, len(symbols))
    return [source_spec(path, s) for s in symbols] or [path]


def _features_for(source: Source, config: TrainConfig) -> Segment:
    """One symbol's features and labels, from a file path, a ``path#SYMBOL`` spec of a wide
    price file, or an already loaded OHLCV frame."""
    frame = source if isinstance(source, pd.DataFrame) else load_ohlcv(source)
    return segment_of(frame, config)


def parallel_segments(
    sources: Sequence[Source], config: TrainConfig, workers: int | None = None
) -> list[Segment]:
    """``_features_for`` of every source, in order, on up to ``workers`` processes.

    One source (or one worker) runs in this process: starting a worker would cost more than it
    saves. Workers are spawned, not forked, so no torch/OpenMP thread state is inherited.
    """
    workers = min(workers or os.cpu_count() or 1, len(sources))
    if workers <= 1:
        return [_features_for(s, config) for s in sources]
    logger.info("computing features of %d symbols on %d processes", len(sources), workers)
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_features_for, sources, repeat(config)))
