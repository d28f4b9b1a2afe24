"""ModelSignal: batched (once) == per bar (next) == preload=False, equal to running the model by
hand on the scaled window, and causal in runonce mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import backtrader as bt
import numpy as np
import pytest
import torch

from bt_attention_lstm.indicators import ModelSignal, compute_features, warmup_bars
from bt_attention_lstm.models.artifact import load_artifact
from tests.conftest import ORCL_PATH, load_market_file

MODES = {
    "runonce": ({}, {}),
    "next": ({}, {"runonce": False}),
    "preload_false": ({"preload": False}, {}),
}
SUBSET = ("2000-01-01", "2003-12-31")  # ~1000 bars: two years in the training range, two after


def write_yahoo_subset(dst: Path, start: str, end: str, replace_after: int | None = None) -> Path:
    """Copy the ORCL rows dated start..end verbatim (Yahoo CSV). With ``replace_after=t``, the
    price fields of every row after the t-th are taken from ORCL 2008 onward (dates kept)."""
    lines = ORCL_PATH.read_text().splitlines()
    header, rows = lines[0], [r for r in lines[1:] if r.strip()]
    keep = [r for r in rows if start <= r[:10] <= end]
    if replace_after is not None:
        donors = [r for r in rows if r[:10] >= "2008-01-01"]
        assert len(donors) >= len(keep)
        for i in range(replace_after + 1, len(keep)):
            date = keep[i].split(",", 1)[0]
            keep[i] = date + "," + donors[i].split(",", 1)[1]
    dst.write_text("\n".join([header, *keep]) + "\n")
    return dst


@dataclass
class Run:
    lines: np.ndarray  # (n_bars, 4): p_down, p_flat, p_up, confidence
    first_next_len: int | None
    minperiod: int
    nan_in_next: bool


class Collect(bt.Strategy):
    params = (("model_path", None),)

    def __init__(self) -> None:
        self.sig = ModelSignal(self.data, model_path=self.p.model_path, device="cpu")
        self.first_next_len = None
        self.nan_in_next = False

    def next(self) -> None:
        if self.first_next_len is None:
            self.first_next_len = len(self)
        if any(np.isnan(line[0]) for line in self.sig.lines):
            self.nan_in_next = True


def run_signal(csv: Path, model_path: Path, mode: str) -> Run:
    cerebro_kw, run_kw = MODES[mode]
    cerebro = bt.Cerebro(stdstats=False, **cerebro_kw)
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(csv)))
    cerebro.addstrategy(Collect, model_path=str(model_path))
    strat = cerebro.run(**run_kw)[0]
    lines = np.column_stack([np.asarray(line.array, dtype=np.float64) for line in strat.sig.lines])
    return Run(lines, strat.first_next_len, strat.sig._minperiod, strat.nan_in_next)


@pytest.fixture(scope="module")
def subset_csv(tmp_path_factory) -> Path:
    return write_yahoo_subset(tmp_path_factory.mktemp("signal") / "orcl.csv", *SUBSET)


@pytest.fixture(scope="module")
def runs(subset_csv, tiny_artifact) -> dict[str, Run]:
    return {mode: run_signal(subset_csv, tiny_artifact, mode) for mode in MODES}


@pytest.fixture(scope="module")
def artifact(tiny_artifact):
    return load_artifact(tiny_artifact)


def expected_minperiod(artifact) -> int:
    return warmup_bars(artifact.feature_spec) + 1 + artifact.seq_len - 1


@pytest.mark.parametrize("mode", list(MODES))
def test_minperiod_and_no_nan_after_it(runs, artifact, mode):
    run = runs[mode]
    mp = expected_minperiod(artifact)
    assert run.minperiod == mp
    assert run.first_next_len == mp
    assert not run.nan_in_next
    assert np.isnan(run.lines[: mp - 1]).all()
    assert np.isfinite(run.lines[mp - 1 :]).all()


@pytest.mark.parametrize("mode", ["next", "preload_false"])
def test_modes_agree_with_runonce(runs, artifact, mode):
    mp = expected_minperiod(artifact)
    ref, got = runs["runonce"].lines, runs[mode].lines
    assert got.shape == ref.shape
    np.testing.assert_allclose(got[mp - 1 :], ref[mp - 1 :], rtol=0, atol=1e-5)


@pytest.mark.parametrize("mode", list(MODES))
def test_probabilities_and_confidence(runs, artifact, mode):
    out = runs[mode].lines[expected_minperiod(artifact) - 1 :]
    p = out[:, :3]
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, 3], p[:, 2] - p[:, 0], rtol=0, atol=1e-12)
    assert ((out[:, 3] >= -1) & (out[:, 3] <= 1)).all()


def test_batched_path_equals_the_model_run_by_hand(runs, artifact, subset_csv):
    df = load_market_file(subset_csv, "yahoo")
    features = compute_features(df, artifact.feature_spec).to_numpy()
    scaled = artifact.scaler.transform(features)
    L = artifact.seq_len
    mp = expected_minperiod(artifact)
    lines = runs["runonce"].lines
    assert lines.shape[0] == len(df)
    model = artifact.model.eval()
    for i in (mp - 1, mp, 500, 777, len(df) - 1):
        window = torch.from_numpy(np.ascontiguousarray(scaled[i - L + 1 : i + 1]))[None]
        assert torch.isfinite(window).all()
        with torch.no_grad():
            probs = torch.softmax(model(window.float()), dim=-1)[0].double().numpy()
        np.testing.assert_allclose(lines[i, :3], probs, rtol=0, atol=1e-5, err_msg=f"bar {i}")
        np.testing.assert_allclose(lines[i, 3], probs[2] - probs[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("t", [400, 600])  # after the ta-v2 warm-up (~356 bars)
def test_runonce_outputs_do_not_depend_on_later_bars(tmp_path, tiny_artifact, runs, t):
    changed = write_yahoo_subset(tmp_path / "changed.csv", *SUBSET, replace_after=t)
    ref = runs["runonce"].lines
    got = run_signal(changed, tiny_artifact, "runonce").lines
    assert got.shape == ref.shape
    np.testing.assert_allclose(got[: t + 1], ref[: t + 1], rtol=0, atol=1e-9, equal_nan=True)
    # and the change is visible afterwards: the test would be vacuous otherwise
    assert np.abs(got[t + 60 :] - ref[t + 60 :]).max() > 1e-4
