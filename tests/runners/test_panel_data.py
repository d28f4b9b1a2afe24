"""Wide price files in the runners: expand_data_paths turns one into a source per symbol, the
feature workers load ``path#SYMBOL`` specs, train.py's load_frames gets one frame per symbol and
a single-series runner (backtest.py) refuses a wide file without a symbol in one line."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.data import load_ohlcv, select_range
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.models.training.classifier import TrainConfig
from bt_attention_lstm.models.training.multi_symbol import (
    _features_for,
    expand_data_paths,
    parallel_segments,
)
from bt_attention_lstm.runners.cli.common import load_frames
from tests.conftest import DATA_DIR, ORCL_PATH, REPO_ROOT, subprocess_env

WIDE = DATA_DIR / "us-stocks-close-1990-2022.csv"
SYMBOLS = ["AAPL", "AMD", "BAC", "CVX", "HD", "JNJ", "KO", "PFE", "UNH", "WMT"]
CONFIG = TrainConfig(horizon=5, flat_band=0.5)


def train_args(*argv: str):
    from bt_attention_lstm.runners.train import build_parser

    return build_parser().parse_args(list(argv))


def backtest_args(*argv: str):
    from bt_attention_lstm.runners.backtest import build_parser

    return build_parser().parse_args(list(argv))


def test_a_wide_file_expands_to_one_spec_per_symbol_in_column_order(tmp_path):
    specs = expand_data_paths([str(WIDE)])
    assert specs == [f"{WIDE}#{s}" for s in SYMBOLS]
    assert expand_data_paths(specs) == specs  # specs stay as they are: expanding is idempotent
    mixed = expand_data_paths([str(ORCL_PATH), f"{WIDE}#KO", "missing.csv"])
    assert mixed == [str(ORCL_PATH), f"{WIDE}#KO", "missing.csv"]
    # a folder: its files in order, a wide file among them expanded in place
    shutil.copy(ORCL_PATH, tmp_path / "a-orcl.txt")
    shutil.copy(WIDE, tmp_path / "b-wide.csv")
    (tmp_path / "c.csv").write_text("Date,Close\n2020-01-02,1.5\n")
    folder = expand_data_paths([str(tmp_path)])
    assert folder == [
        str(tmp_path / "a-orcl.txt"),
        *(f"{tmp_path / 'b-wide.csv'}#{s}" for s in SYMBOLS),
        str(tmp_path / "c.csv"),
    ]


def test_the_feature_worker_loads_a_symbol_spec(tmp_path):
    ko = select_range(load_ohlcv(f"{WIDE}#KO"), "2005-01-01", "2012-12-31")
    path = tmp_path / "wide.csv"
    wide = pd.read_csv(WIDE, index_col="Date", parse_dates=True)
    wide.loc["2005-01-01":"2012-12-31", ["KO", "PFE"]].to_csv(path)
    from_spec = _features_for(f"{path}#KO", CONFIG)
    from_frame = _features_for(ko, CONFIG)
    np.testing.assert_array_equal(from_spec.features, from_frame.features)
    np.testing.assert_array_equal(from_spec.labels, from_frame.labels)
    np.testing.assert_array_equal(from_spec.times, from_frame.times)
    assert np.isfinite(from_spec.features[-100:]).all()
    specs = expand_data_paths([str(path)])
    assert specs == [f"{path}#KO", f"{path}#PFE"]
    # spawned worker processes load the specs themselves
    parallel = parallel_segments(specs, CONFIG, workers=2)
    serial = parallel_segments(specs, CONFIG, workers=1)
    for a, b in zip(parallel, serial, strict=True):
        np.testing.assert_array_equal(a.features, b.features)
        np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(serial[0].features, from_frame.features)


def test_train_load_frames_gets_one_frame_per_symbol_of_a_wide_file():
    args = train_args("--data", str(WIDE), "--end", "2012-12-31")
    frames = load_frames(args)
    assert [f.attrs["source"] for f in frames] == [f"{WIDE}#{s}" for s in SYMBOLS]
    assert [f.attrs["symbol"] for f in frames] == SYMBOLS
    for df in frames:
        assert df.attrs["close_only"] is True and df.attrs["format"] == "wide"
        assert df.index[0] == pd.Timestamp("1990-01-02")
        assert df.index[-1] == pd.Timestamp("2012-12-31")
        assert (df["open"] == df["close"]).all() and (df["volume"] == 0).all()
    assert frames[6]["close"].iloc[0] == 2.235  # KO's first close in the file


def test_train_load_frames_mixes_files_folders_and_symbol_specs(tmp_path):
    shutil.copy(WIDE, tmp_path / "wide.csv")
    args = train_args(
        "--data", str(ORCL_PATH), "--data", f"{WIDE}#JNJ", "--data", str(tmp_path),
        "--start", "2000-01-01", "--end", "2001-12-31",
    )
    frames = load_frames(args)
    assert len(frames) == 12
    assert frames[0].attrs["source"] == str(ORCL_PATH) and frames[0].attrs["close_only"] is False
    assert frames[1].attrs["source"] == f"{WIDE}#JNJ"
    assert [f.attrs["symbol"] for f in frames[2:]] == SYMBOLS
    assert all(f.index[0] == pd.Timestamp("2000-01-03") for f in frames)
    pd.testing.assert_frame_equal(frames[1], frames[2 + SYMBOLS.index("JNJ")])


def test_a_single_series_runner_refuses_a_wide_file_without_a_symbol():
    with pytest.raises(DataError) as info:
        load_frames(backtest_args("--data", str(WIDE)))
    assert str(info.value) == (
        f"{WIDE} is a wide price file with 10 symbols (AAPL, AMD, BAC, CVX, HD, JNJ, KO, PFE, "
        f"UNH, WMT): choose one with {WIDE}#SYMBOL, or train one model on all of them"
    )
    (ko,) = load_frames(backtest_args("--data", f"{WIDE}#KO", "--start", "2013-01-02"))
    assert ko.attrs["symbol"] == "KO" and ko.index[0] == pd.Timestamp("2013-01-02")
    (close,) = load_frames(backtest_args("--data", str(DATA_DIR / "ko-close-2000-2014.csv")))
    assert close.attrs["format"] == "close" and len(close) == 3773


def test_train_py_trains_one_model_on_every_symbol_of_a_wide_file(tmp_path):
    out = tmp_path / "model"
    proc = subprocess.run(
        [sys.executable, "runners/train.py", "--data", str(WIDE), "--start", "2009-01-01",
         "--end", "2012-12-31", "--hidden", "8", "--layers", "1", "--heads", "1",
         "--seq-len", "10", "--epochs", "1", "--folds", "2", "--patience", "1",
         "--device", "cpu", "--quiet", "--out", str(out)],
        cwd=REPO_ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "training one model on 10 symbols" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if "close-only data" in line]
    assert len(warnings) == 1 and "(10 symbols)" in warnings[0]
    assert (out / "meta.json").is_file()
