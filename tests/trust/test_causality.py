"""Causality (invariant 2): nothing at bar t depends on bars after t.

For several bars t of real data (ORCL), the features, the model's signal and the strategy's
equity at every bar <= t are the same whether the data ends at t, goes on as it really did, or
goes on shuffled or rescaled. In runonce mode backtrader has preloaded the whole future into the
line arrays before ``once`` runs, so this is where a leak would show; next mode is checked too.
"""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.indicators import FeatureVector, ModelSignal, compute_features, warmup_bars
from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.runners.research.cerebro import pandas_feed, run_cerebro
from tests.trust.conftest import NO_COSTS

CUTS = (370, 400, 777)  # bars of the 1004-bar ORCL 2000-2003 frame; the signal starts at 355
MODES = {"runonce": True, "next": False}
SIGNAL_TOL = 1e-9  # float32 inference: identical inputs give identical outputs


def shuffled_after(df: pd.DataFrame, t: int, seed: int = 0) -> pd.DataFrame:
    """Bars after t in a random order (timestamps kept): a different future, same past."""
    out = df.copy()
    order = np.random.default_rng(seed).permutation(np.arange(t + 1, len(df)))
    out.iloc[t + 1 :] = df.to_numpy()[order]
    return out


def scaled_after(df: pd.DataFrame, t: int) -> pd.DataFrame:
    """Prices after t tripled and volume cut tenfold: a jump no past value could know about."""
    out = df.copy()
    out.iloc[t + 1 :, :4] *= 3.0
    out.iloc[t + 1 :, 4] *= 0.1
    return out


FUTURES = {
    "truncated": lambda df, t: df.iloc[: t + 1],
    "shuffled": shuffled_after,
    "scaled": scaled_after,
}


class Probe(bt.Strategy):
    """FeatureVector and ModelSignal on the data; no trading."""

    params = (("artifact", None),)

    def __init__(self) -> None:
        self.fv = FeatureVector(self.data, spec=self.p.artifact.feature_spec)
        self.signal = ModelSignal(self.data, artifact=self.p.artifact, device="cpu",
                                  features=self.fv)


def indicator_lines(df: pd.DataFrame, artifact: Artifact, runonce: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(signal lines (n, 4), feature lines (n, F)) from a Cerebro run over ``df``."""
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(pandas_feed(df))
    cerebro.addstrategy(Probe, artifact=artifact)
    probe = cerebro.run()[0]

    def stack(lines) -> np.ndarray:
        return np.column_stack([np.asarray(ln.array[: len(df)], dtype=float) for ln in lines])

    return stack(probe.signal.lines), stack(probe.fv.lines)


def deviation(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| with NaN == NaN (the warm-up) and NaN vs a number = inf."""
    assert a.shape == b.shape
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if (nan_a != nan_b).any():
        return np.inf
    return float(np.abs(a[~nan_a] - b[~nan_b]).max(initial=0.0))


@pytest.fixture(scope="module")
def artifact(tiny_artifact) -> Artifact:
    return load_artifact(tiny_artifact)


@pytest.fixture(scope="module")
def full_runs(orcl_2000_2003, artifact) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {mode: indicator_lines(orcl_2000_2003, artifact, ro) for mode, ro in MODES.items()}


# -- compute_features ----------------------------------------------------------------------------


@pytest.mark.parametrize("t", [warmup_bars(), warmup_bars() + 1, 300, 2500, 5000])
@pytest.mark.parametrize("future", list(FUTURES))
def test_compute_features_at_or_before_t_ignore_the_future(orcl_df, t, future):
    full = compute_features(orcl_df).to_numpy()
    changed = compute_features(FUTURES[future](orcl_df, t)).to_numpy()
    np.testing.assert_array_equal(changed[: t + 1], full[: t + 1])
    if future != "truncated" and t + 60 < len(orcl_df):
        assert deviation(changed[t + 60 :], full[t + 60 :]) > 1e-6  # the change is real


# -- FeatureVector and ModelSignal inside backtrader ----------------------------------------------


@pytest.mark.parametrize("t", CUTS)
@pytest.mark.parametrize("mode", list(MODES))
def test_signal_and_features_at_or_before_t_ignore_a_truncated_future(
    orcl_2000_2003, artifact, full_runs, mode, t
):
    signal, features = indicator_lines(orcl_2000_2003.iloc[: t + 1], artifact, MODES[mode])
    full_signal, full_features = full_runs[mode]
    assert np.isfinite(signal[t]).all()  # t is past the warm-up: a real comparison
    assert deviation(signal, full_signal[: t + 1]) <= SIGNAL_TOL
    np.testing.assert_array_equal(features, full_features[: t + 1])


@pytest.mark.parametrize("future", ["shuffled", "scaled"])
@pytest.mark.parametrize("mode", list(MODES))
def test_signal_and_features_at_or_before_t_ignore_a_changed_future(
    orcl_2000_2003, artifact, full_runs, mode, future
):
    t = CUTS[1]
    signal, features = indicator_lines(FUTURES[future](orcl_2000_2003, t), artifact, MODES[mode])
    full_signal, full_features = full_runs[mode]
    assert deviation(signal[: t + 1], full_signal[: t + 1]) <= SIGNAL_TOL
    np.testing.assert_array_equal(features[: t + 1], full_features[: t + 1])
    assert deviation(signal[t + 60 :], full_signal[t + 60 :]) > 1e-6  # the future did change


def test_runonce_and_next_agree_on_real_data(full_runs):
    """The two paths compared above are the same computation (to float32 rounding)."""
    assert deviation(full_runs["runonce"][0], full_runs["next"][0]) <= 1e-5
    np.testing.assert_allclose(full_runs["runonce"][1], full_runs["next"][1], rtol=0,
                               atol=1e-9, equal_nan=True)


# -- the strategy's decisions ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(MODES))
def test_strategy_equity_and_trades_up_to_t_ignore_the_future(orcl_2000_2003, artifact, mode):
    """Orders decided at t fill at t+1's open, so equity and closed trades up to t are fixed."""
    t = 900  # late enough (the signal starts at 355) for trades to have closed before t
    when = orcl_2000_2003.index[t]
    runs = [
        run_cerebro(df, artifact, {"device": "cpu"}, NO_COSTS, runonce=MODES[mode])
        for df in (orcl_2000_2003, scaled_after(orcl_2000_2003, t))
    ]
    equity = [r.equity[r.equity.index <= when] for r in runs]
    pd.testing.assert_series_equal(equity[0], equity[1], check_exact=True)
    closed = [r.trades[pd.to_datetime(r.trades["exit_time"]) <= when] for r in runs]
    assert len(closed[0]) > 0  # the model traded before t: the comparison means something
    pd.testing.assert_frame_equal(closed[0].reset_index(drop=True),
                                  closed[1].reset_index(drop=True), check_exact=True)
    assert runs[0].final_value != runs[1].final_value
