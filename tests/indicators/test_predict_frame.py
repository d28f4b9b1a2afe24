"""predict_frame equals ModelSignal's lines in a user's Cerebro; ModelSignal in WriterFile."""

from __future__ import annotations

import logging
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.indicators import ModelSignal, predict_frame, warmup_bars
from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.errors import DataError
from tests.conftest import ORCL_PATH, load_market_file

COLUMNS = ["p_down", "p_flat", "p_up", "confidence"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_market_file(ORCL_PATH).loc["2001-01-01":"2004-12-31"]


class WithSignal(bt.Strategy):
    params = (("model_path", None),)

    def __init__(self) -> None:
        self.signal = ModelSignal(self.data, model_path=self.p.model_path, device="cpu")


def signal_lines(df: pd.DataFrame, model_path: Path, runonce: bool) -> pd.DataFrame:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(bt.feeds.PandasData(dataname=df, openinterest=None))
    cerebro.addstrategy(WithSignal, model_path=str(model_path))
    signal = cerebro.run()[0].signal
    values = np.column_stack([np.asarray(line.array[: len(df)]) for line in signal.lines])
    return pd.DataFrame(values, index=df.index, columns=COLUMNS)


# runonce: the same batched path, but ModelSignal.once first runs a one-bar range (oncestart),
# so its float32 batches are cut elsewhere: ~3e-8 apart on a network whose output varies.
@pytest.mark.parametrize(("runonce", "atol"), [(True, 1e-6), (False, 1e-5)])
def test_predict_frame_equals_the_indicator_lines(
    frame: pd.DataFrame, tiny_artifact: Path, runonce: bool, atol: float
) -> None:
    expected = signal_lines(frame, tiny_artifact, runonce)
    got = predict_frame(frame, tiny_artifact, device="cpu")
    assert list(got.columns) == COLUMNS and got.index.equals(frame.index)
    np.testing.assert_array_equal(got.isna().to_numpy(), expected.isna().to_numpy())
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), atol=atol, equal_nan=True)


def test_predict_frame_is_nan_only_during_the_warm_up(
    frame: pd.DataFrame, tiny_artifact: Path
) -> None:
    artifact = load_artifact(tiny_artifact)
    warm = warmup_bars(artifact.feature_spec) + artifact.seq_len - 1
    got = predict_frame(frame, artifact, device="cpu")
    assert got.iloc[:warm].isna().all().all()
    assert np.isfinite(got.iloc[warm:].to_numpy()).all()
    np.testing.assert_allclose(got[["p_down", "p_flat", "p_up"]].iloc[warm:].sum(axis=1), 1.0,
                               atol=1e-6)
    np.testing.assert_allclose(got.confidence.iloc[warm:], (got.p_up - got.p_down).iloc[warm:])


def test_predict_frame_on_a_short_frame_is_all_nan(
    frame: pd.DataFrame, tiny_artifact: Path, caplog: pytest.LogCaptureFixture
) -> None:
    artifact = load_artifact(tiny_artifact)
    short = frame.iloc[: warmup_bars(artifact.feature_spec) + artifact.seq_len - 1]
    with caplog.at_level(logging.WARNING):
        got = predict_frame(short, artifact, device="cpu")
    assert got.shape == (len(short), 4) and got.isna().all().all()
    assert "before its first signal" in caplog.text


def test_predict_frame_refuses_a_frame_without_ohlcv(
    frame: pd.DataFrame, tiny_artifact: Path
) -> None:
    with pytest.raises(DataError, match="volume"):
        predict_frame(frame.drop(columns="volume"), tiny_artifact)


def test_writer_file_includes_the_signal_lines(
    frame: pd.DataFrame, tiny_artifact: Path, tmp_path: Path
) -> None:
    out = tmp_path / "writer.csv"
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None))
    cerebro.addstrategy(WithSignal, model_path=str(tiny_artifact))
    cerebro.addwriter(bt.WriterFile, csv=True, out=str(out))
    cerebro.run()
    lines = out.read_text().splitlines()
    header = next(line for line in lines if line.startswith("Id,")).split(",")
    for name in COLUMNS:
        assert name in header
    bars = [line.split(",") for line in lines if line.split(",")[0].isdigit()]
    assert len(bars) == len(frame)
    last = dict(zip(header, bars[-1], strict=True))
    expected = predict_frame(frame, tiny_artifact, device="cpu").iloc[-1]
    assert float(last["confidence"]) == pytest.approx(expected.confidence, abs=1e-6)
