"""vol_target's weights precomputed in a runonce backtest (``Decisions.precompute_targets``).

The vectorised rank and weight equal their per-bar twins to the bit on awkward inputs (NaN
runs, infinities, ties, zero volatility); in a runonce backtest on real data every bar's
precomputed weight equals the one computed from that bar's inputs; next mode, several feeds and
a subclass's own sizing inputs keep the per-bar computation. (The three run modes giving the
same trades is ``test_vol_target.test_run_modes_give_the_same_trades_and_value``.)
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.strategies import AttentionLSTMStrategy
from bt_attention_lstm.strategies.decisions import VOL_HISTORY_MIN
from bt_attention_lstm.strategies.sizing import (
    ConfidenceSizer,
    SizingInputs,
    vol_target_weight,
    vol_target_weights,
)
from bt_attention_lstm.strategies.trailing_rank import TrailingRank, trailing_ranks
from tests.conftest import DATA_DIR

SETTINGS = {"sizing": "vol_target", "regime_filter": True, "device": "cpu",
            "stop_loss": 0.05, "allow_short": True}


def same(a: float, b: float) -> bool:
    """Equal to the bit (0.0 and -0.0 aside, which compare equal), or both NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


# -- the vectorised twins ----------------------------------------------------------------------
def awkward_series(n: int, seed: int) -> np.ndarray:
    """Rounded (so ties happen) with NaN runs, infinities and a leading warm-up."""
    rng = np.random.default_rng(seed)
    v = np.round(rng.lognormal(-4.0, 0.5, n), 3)
    v[:15] = np.nan
    v[rng.choice(n, n // 20, replace=False)] = np.nan
    v[200:240] = np.nan
    v[rng.choice(n, 3, replace=False)] = np.inf
    v[rng.choice(n, 3, replace=False)] = -np.inf
    return v


@pytest.mark.parametrize(("lookback", "min_finite"), [(1, 0), (5, 1), (60, 20), (252, 20)])
def test_trailing_ranks_equal_the_per_bar_rank(lookback: int, min_finite: int) -> None:
    values = awkward_series(1_500, seed=lookback)
    ranks = trailing_ranks(values, lookback, min_finite)
    window = TrailingRank(lookback)
    for bar in range(1, values.size + 1):
        expected = window.rank(bar, float(values[bar - 1]),
                               lambda ago, last=bar - 1: values[last - ago], min_finite)
        assert same(ranks[bar - 1], expected), (bar, ranks[bar - 1], expected)
    # every branch was met: too few readings (NaN), the top, and a share in between
    assert np.isnan(ranks).any() == (min_finite > 0)
    assert (ranks == 1.0).any() and ((ranks > 0) & (ranks < 1)).any() == (lookback > 1)


def test_trailing_ranks_refuse_an_empty_window() -> None:
    with pytest.raises(ValueError, match="lookback"):
        trailing_ranks(np.ones(3), 0)


EDGES = [math.nan, math.inf, -math.inf, 0.0, -0.0, 0.05, -0.05, 0.2, -0.2, 0.7, -0.9, 1.0]
SIGMAS = [math.nan, math.inf, 0.0, 1e-4, 0.004, 0.013, 0.05]
RISKS = [0.0, 0.5, 1.0, 1.5, math.nan]


@pytest.mark.parametrize(("threshold", "allow_short", "max_leverage", "share", "periods"),
                         [(0.0, False, 1.0, 1.0, 252.0), (0.2, True, 2.0, 0.5, 52.0),
                          (0.05, True, 1.0, 1.0, 252.0)])
def test_vol_target_weights_equal_the_per_bar_weight(
    threshold: float, allow_short: bool, max_leverage: float, share: float, periods: float
) -> None:
    grid = np.array(list(itertools.product(EDGES, SIGMAS, RISKS)))
    rule = {"target_vol": 0.15, "max_leverage": max_leverage, "periods_per_year": periods,
            "share": share, "threshold": threshold, "allow_short": allow_short}
    weights = vol_target_weights(grid[:, 0], grid[:, 1], risk_scale=grid[:, 2], **rule)
    for (edge, sigma, risk), weight in zip(grid, weights, strict=True):
        expected = vol_target_weight(float(edge), float(sigma), risk_scale=float(risk), **rule)
        assert same(weight, expected), (edge, sigma, risk, weight, expected)
    assert (np.abs(weights) == max_leverage * share).any()  # the cap is reached
    assert ((weights != 0) & np.isfinite(weights) & (np.abs(weights) < 0.5)).any()


# -- in a backtest ---------------------------------------------------------------------------------
class TargetProbe(AttentionLSTMStrategy):
    """Every bar, each traded feed's weight as the decision reads it beside the one computed
    from the bar's own inputs, and its regime scale beside one from a trailing rank of its own
    fed every bar."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[float, float]] = []
        self.regime_pairs: list[tuple[float, float]] = []
        self.own_ranks = {d: TrailingRank(self.config.sizing.regime_lookback)
                          for d in self.trade_datas}

    def next(self) -> None:
        super().next()
        sizing = self.config.sizing
        for data in self.trade_datas:
            vol = self.feed_lines[data].realized_vol
            rank = self.own_ranks[data].rank(len(data), float(vol[0]),
                                             lambda ago, line=vol: line[-ago], VOL_HISTORY_MIN)
            if self.ready(data):
                self.pairs.append((self.target_weight(data), self.bar_target_weight(data)))
                expected = sizing.regime_scale if rank >= sizing.regime_quantile else 1.0
                self.regime_pairs.append((self.regime_scale(data), expected))


class OwnRegime(TargetProbe):
    """A user's own regime filter: the precomputed weights would not see it."""

    def regime_scale(self, data: bt.DataBase) -> float:
        return 0.5


class OwnTargetSizer(ConfidenceSizer):
    def target_weight(self, inputs: SizingInputs) -> float:
        return 0.5 * super().target_weight(inputs)


def yahoo(name: str = "yhoo-1996-2014.txt", start: str = "2001-01-01",
          end: str = "2008-12-31") -> bt.DataBase:
    return bt.feeds.YahooFinanceCSVData(
        dataname=str(DATA_DIR / name), fromdate=pd.Timestamp(start).to_pydatetime(),
        todate=pd.Timestamp(end).to_pydatetime())


def run_probe(artifact: Path, strategy: type[TargetProbe] = TargetProbe, *,
              runonce: bool = True, datas: list[bt.DataBase] | None = None,
              sizer: tuple[type[bt.Sizer], dict[str, Any]] | None = None,
              **params: Any) -> TargetProbe:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=True)
    for data in datas or [yahoo()]:
        cerebro.adddata(data)
    cerebro.broker.setcash(100_000.0)
    if sizer is not None:
        cerebro.addsizer(sizer[0], **sizer[1])
    cerebro.addstrategy(strategy, model_path=str(artifact), **{**SETTINGS, **params})
    strat: TargetProbe = cerebro.run()[0]
    return strat


def test_runonce_reads_precomputed_weights_equal_to_the_per_bar_ones(tiny_artifact: Path) -> None:
    strat = run_probe(tiny_artifact)
    data = strat.trade_datas[0]
    assert list(strat.precomputed_targets) == list(strat.precomputed_regime) == [data]
    assert len(strat.pairs) > 1_000
    assert all(same(read, computed) for read, computed in strat.pairs)
    assert all(read == expected for read, expected in strat.regime_pairs)
    assert {read for read, _ in strat.regime_pairs} == {0.5, 1.0}  # the filter cut some bars
    weights = np.array([read for read, _ in strat.pairs])
    assert (weights > 0).any() and (weights < 0).any()  # the tiny model's signal moves


def test_a_sizer_of_the_users_sets_the_precomputed_rule(tiny_artifact: Path) -> None:
    sizer = (ConfidenceSizer, {"sizing": "vol_target", "target_vol": 0.3, "max_leverage": 0.15,
                               "threshold": 0.02, "allow_short": False})
    strat = run_probe(tiny_artifact, sizer=sizer)
    assert strat.target_sizer is not None and strat.precomputed_targets
    assert all(same(read, computed) for read, computed in strat.pairs)
    weights = np.array([read for read, _ in strat.pairs])
    assert weights.max() == 0.15 and weights.min() == 0.0  # its cap, and long only


@pytest.mark.parametrize("case", ["next mode", "two feeds", "own regime", "own sizer rule",
                                  "entry/exit rules"])
def test_the_per_bar_weight_stays_where_it_cannot_be_precomputed(
    tiny_artifact: Path, case: str
) -> None:
    kwargs: dict[str, Any] = {}
    if case == "next mode":
        kwargs["runonce"] = False
    elif case == "two feeds":
        kwargs["datas"] = [yahoo(), yahoo("orcl-1995-2014.txt")]
    elif case == "own regime":
        kwargs["strategy"] = OwnRegime
    elif case == "own sizer rule":
        kwargs["sizer"] = (OwnTargetSizer, {"sizing": "vol_target"})
    else:
        kwargs["sizing"] = "confidence"
    strat = run_probe(tiny_artifact, **kwargs)
    assert strat.precomputed_targets == strat.precomputed_regime == {}
    if case != "entry/exit rules":
        assert len(strat.pairs) > 1_000
        assert all(same(read, computed) for read, computed in strat.pairs)
    if case != "own regime":
        assert all(read == expected for read, expected in strat.regime_pairs)


def test_precomputed_weights_read_no_later_bar(tiny_artifact: Path) -> None:
    """Causality: the weights precomputed over a feed that ends earlier equal the first bars'
    weights of the longer feed (a bar's weight reads no bar after it)."""
    short = run_probe(tiny_artifact, datas=[yahoo(end="2005-06-30")])
    full = run_probe(tiny_artifact)
    (short_targets,), (full_targets,) = (s.precomputed_targets.values() for s in (short, full))
    (short_regime,), (full_regime,) = (s.precomputed_regime.values() for s in (short, full))
    assert 500 < len(short_targets) < len(full_targets)
    assert all(same(a, b) for a, b in zip(short_targets, full_targets, strict=False))
    assert short_regime == full_regime[:len(short_regime)]
