"""Multi-symbol training: features in worker processes equal serial features exactly, no training
window spans two symbols, a folder means its data files, and train.py trains one model on all."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.data.synthetic import random_walk_market, synthetic_market
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.classifier import Segment, TrainConfig, WindowSamples
from bt_attention_lstm.models.training.multi_symbol import (
    _features_for,
    expand_data_paths,
    parallel_segments,
)
from tests.conftest import ORCL_PATH, REPO_ROOT, subprocess_env

CONFIG = TrainConfig(objective="classify", horizon=5, flat_band=0.5)
SEQ_LEN = 10


@pytest.fixture(scope="module")
def symbols(orcl_df) -> list[pd.DataFrame]:
    """Three symbols over overlapping dates (the same timestamps appear in several)."""
    orcl = orcl_df.loc["1999-01-01":"2001-12-31"].copy()
    a = synthetic_market(700, seed=1, start="2000-01-03")
    b = random_walk_market(500, seed=2, start="2000-06-01")
    return [orcl, a, b]


@pytest.fixture(scope="module")
def parallel(symbols) -> list[Segment]:
    return parallel_segments(symbols, CONFIG, workers=2)


def assert_segments_equal(a: list[Segment], b: list[Segment]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.features, y.features)  # exact, NaN warm-up included
        np.testing.assert_array_equal(x.labels, y.labels)
        np.testing.assert_array_equal(x.times, y.times)


def test_parallel_features_equal_serial_features_exactly(symbols, parallel):
    serial = [_features_for(df, CONFIG) for df in symbols]
    assert_segments_equal(parallel, serial)
    assert_segments_equal(parallel_segments(symbols, CONFIG, workers=1), serial)


def test_the_worker_function_is_picklable_and_takes_a_path_or_a_frame(orcl_df):
    assert pickle.loads(pickle.dumps(_features_for)) is _features_for
    from_path = _features_for(str(ORCL_PATH), CONFIG)
    assert_segments_equal([from_path], [_features_for(orcl_df, CONFIG)])


def crossing_windows(segments: list[Segment], symbol_bars: list[int], seq_len: int) -> int:
    """Training windows, as the Trainer builds them from ``segments``, whose rows come from two
    symbols (``symbol_bars``: each symbol's bar count, in the order of the rows)."""
    samples = WindowSamples(segments, seq_len)
    bounds = np.cumsum([0, *symbol_bars])
    owner_of_end = np.searchsorted(bounds, samples.ends, side="right") - 1
    owner_of_start = np.searchsorted(bounds, samples.ends - seq_len + 1, side="right") - 1
    return int(np.sum(owner_of_start != owner_of_end))


def test_no_training_window_contains_rows_of_two_symbols(symbols, parallel):
    bars = [len(df) for df in symbols]
    assert crossing_windows(parallel, bars, SEQ_LEN) == 0
    # Every bar after a symbol's own warm-up and first window is a window (less the horizon).
    lost = warmup_bars() + SEQ_LEN + 20
    assert len(WindowSamples(parallel, SEQ_LEN)) > sum(bars) - len(bars) * lost
    # The check can fail: glue the symbols into one series (the bug one Segment per symbol
    # avoids) and windows straddle the seams.
    glued = pd.concat([df.reset_index(drop=True) for df in symbols])
    glued.index = pd.date_range("1990-01-01", periods=len(glued), freq="D")
    assert crossing_windows([_features_for(glued, CONFIG)], bars, SEQ_LEN) > 0


def test_a_folder_means_its_data_files_in_order(tmp_path):
    for name in ("b.csv", "a.txt", "c.parquet", "README.md", "notes.json"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub.csv").mkdir()
    expanded = expand_data_paths([str(tmp_path), "other.csv"])
    assert expanded == [str(tmp_path / n) for n in ("a.txt", "b.csv", "c.parquet")] + [
        "other.csv"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no .csv/.txt/.parquet files"):
        expand_data_paths([str(empty)])


def test_train_cli_trains_one_model_on_a_folder_of_symbols(tmp_path):
    folder = tmp_path / "symbols"
    folder.mkdir()
    synthetic_market(600, seed=3).to_csv(folder / "aaa.csv", index_label="datetime")
    random_walk_market(500, seed=4).to_csv(folder / "bbb.csv", index_label="datetime")
    out = tmp_path / "model"
    tiny = ["--hidden", "8", "--layers", "1", "--heads", "1", "--seq-len", "10", "--epochs", "1",
            "--folds", "2", "--patience", "1", "--device", "cpu", "--quiet"]
    proc = subprocess.run(
        [sys.executable, "runners/train.py", "--data", str(folder), *tiny, "--out", str(out)],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "training one model on 2 symbols" in proc.stdout
    meta = json.loads((out / "meta.json").read_text())
    sources = meta["training"]["sources"]
    assert [s.rsplit("/", 1)[-1] for s in sources] == ["aaa.csv", "bbb.csv"]
    assert meta["training"]["bars"] == 1100
