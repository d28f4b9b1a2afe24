"""Volatility targeting with a no-trade band (``sizing="vol_target"``).

The target weight's formula, the band, long-only, reductions that keep what stays protected,
the cooldown after a stop (across a restart), partial fills, and the three run modes on real
data. Crafted paths use constant-signal artifacts on the ta-v2 features (the ``ex_ante_vol``
line is a ta-v2 line); real data uses the session's tiny model, with ``sizing="vol_target"``
named, so the tests hold whichever head that fixture is trained with.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
import torch

from bt_attention_lstm.indicators.feature_vector import FeatureVector
from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import FeatureSpec, v1_spec
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.models.portfolio.vol_targeting import VolTarget, ex_ante_vol
from bt_attention_lstm.runners.research.cerebro import pandas_feed
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from bt_attention_lstm.strategies.config import default_sizing
from bt_attention_lstm.strategies.sizing import (
    needs_rebalance,
    target_fraction,
    vol_target_weight,
)
from tests.conftest import DATA_DIR
from tests.strategies.conftest import constant_signal_artifact, crafted_market
from tests.strategies.live_helpers import protected_units

SPEC = FeatureSpec()  # ta-v2
ROOT252 = math.sqrt(252.0)
LONG = (0.2, 0.7)  # confidence +0.5
SHORT = (0.7, 0.2)  # confidence -0.5
BASE = {"sizing": "vol_target", "regime_filter": False, "stop_loss": 0.25, "device": "cpu"}


# -- helpers ---------------------------------------------------------------------------------
def v2_signal_artifact(path: Path, p_down: float, p_up: float) -> Artifact:
    """A ta-v2 classifier that always answers (p_down, 1 - p_down - p_up, p_up)."""
    p_flat = 1.0 - p_down - p_up
    n = SPEC.n_features
    model = AttentionLSTM(ModelConfig(n_features=n, hidden=8, layers=1, heads=1, dropout=0.0,
                                      seq_len=5))
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        model.head[1].bias.copy_(torch.tensor([math.log(p_down), math.log(p_flat),
                                               math.log(p_up)]))
    scaler = FeatureScaler(mean=np.zeros(n), scale=np.ones(n))
    save_artifact(path, model, scaler, SPEC, 5,
                  {"training": {"start": "1900-01-01", "end": "1900-12-31"}})
    return load_artifact(path)


@pytest.fixture(scope="module")
def long_model(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return v2_signal_artifact(tmp_path_factory.mktemp("vt") / "long", *LONG)


@pytest.fixture(scope="module")
def short_model(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return v2_signal_artifact(tmp_path_factory.mktemp("vt") / "short", *SHORT)


def regime_path(n_calm: int = 430, n_wild: int = 170, calm: float = 0.005, wild: float = 0.02,
                seed: int = 5) -> np.ndarray:
    """Daily closes: ``calm`` daily volatility, then ``wild``: the target weight falls in
    steps as the ex-ante volatility catches up."""
    rng = np.random.default_rng(seed)
    r = np.r_[rng.normal(0.0003, calm, n_calm), rng.normal(0.0003, wild, n_wild)]
    return 100.0 * np.exp(np.cumsum(r))


def covered_units(strat: AttentionLSTMStrategy, data: bt.DataBase) -> float:
    """Units the broker's live stops would close: every group has a Stop (stop_loss is set
    in these tests); a trailing stop that fired in part (its siblings are then cancelled) covers
    what it has left. A take-profit that fired in part is no stop: its rest gets stops of its
    own."""
    total = protected_units(strat, data)
    for o in strat.broker.orders:
        if (o.data is data and o.alive() and o.exectype == bt.Order.StopTrail
                and abs(o.executed.size) > 0):
            total += abs(o.executed.remsize)
    return total


class Row(NamedTuple):
    feed: str
    bar: int  # len(data) at the decision
    target: float
    current: float
    action: str
    reason: str
    value: float
    close: float
    owned: float


class _Recorder(AttentionLSTMStrategy):
    """Records every vol_target decision and, on every bar, whether the stops cover exactly
    the units that stay (what the strategy owns less a reduction still in flight)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.coverage_gaps: list[tuple[int, float, float]] = []
        self.min_position = 0.0
        self.trail_carry: list[tuple[float | None, float | None]] = []

    def next(self) -> None:
        self.min_cash = min(getattr(self, "min_cash", math.inf), self.broker.getcash())
        for data in self.datas:
            self._audit(data)
        super().next()

    def _audit(self, data: bt.DataBase) -> None:
        self.min_position = min(self.min_position, self.getposition(data).size)
        assert self.getposition(data).size == pytest.approx(self.owned(data))
        if not self.book(data).protection_pending():
            # the whole position, a reduction or exit in flight included (its guard)
            expected = abs(self.owned(data))
            covered = covered_units(self, data)
            if abs(covered - expected) > 1e-9:
                self.coverage_gaps.append((len(data), covered, expected))

    def choose_target(self, data: bt.DataBase) -> tuple[str, str]:
        target, current = self.target_weight(data), self.held_weight(data)
        owned, value = self.owned(data), self.broker.getvalue()
        action, reason = super().choose_target(data)
        self.rows.append(Row(data._name, len(data), target, current, action, reason, value,
                             float(data.close[0]), owned))
        return action, reason

    def start(self) -> None:
        super().start()
        reduce, trail_level = self.orders.reduce, self.orders.protection.trail_level

        def recorded(data: bt.DataBase, reason: str = "rebalance") -> bool:
            before = trail_level(self.book(data))
            done = reduce(data, reason)
            self.trail_carry.append((before, trail_level(self.book(data))))
            return done

        self.orders.reduce = recorded  # type: ignore[method-assign]


def run(df: pd.DataFrame | None, artifact: Artifact | Path, *, datas: list | None = None,
        runonce: bool = True, preload: bool = True, filler: Any = None,
        commission: float = 0.0, sizer: tuple | None = None,
        **params: Any) -> tuple[bt.Cerebro, _Recorder]:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload)
    for data in datas if datas is not None else [pandas_feed(df)]:
        cerebro.adddata(data)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=commission)
    if filler is not None:
        cerebro.broker.set_filler(filler)
    if sizer is not None:
        cerebro.addsizer(sizer[0], **sizer[1])
    source = {"model_path": str(artifact)} if isinstance(artifact, Path) else {
        "artifact": artifact}
    cerebro.addstrategy(_Recorder, **source, **{**BASE, **params})
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="ta")
    return cerebro, cerebro.run()[0]


def orders_of(strat: AttentionLSTMStrategy, role: str) -> list[bt.Order]:
    return [o for o in strat.broker.orders if strat.order_role(o.ref) == role]


def bar_of(df: pd.DataFrame, order: bt.Order) -> int:
    """Index in ``df`` of the bar an order was decided on."""
    return int(df.index.get_loc(pd.Timestamp(bt.num2date(order.created.dt)).normalize()))


# -- 1. the formula ----------------------------------------------------------------------------
def test_target_weight_formula_on_known_inputs() -> None:
    expected = 0.5 * 0.15 / (0.01 * ROOT252)  # 0.4725
    assert vol_target_weight(0.5, 0.01) == pytest.approx(expected, rel=1e-12)
    assert vol_target_weight(0.5, 0.01) == VolTarget(0.15, 1.0, 252.0).weights(
        np.array([0.5]), np.array([0.01]))[0]
    assert vol_target_weight(0.5, 0.02, target_vol=0.10) == pytest.approx(
        0.5 * 0.10 / (0.02 * ROOT252), rel=1e-12)
    assert vol_target_weight(0.5, 0.03, periods_per_year=52.0) == pytest.approx(
        0.5 * 0.15 / (0.03 * math.sqrt(52.0)), rel=1e-12)  # weekly bars
    # risk_scale multiplies before the cap; the cap is max_leverage (x the feed's share)
    assert vol_target_weight(0.5, 0.01, risk_scale=0.5) == pytest.approx(expected / 2)
    assert vol_target_weight(1.0, 0.001) == 1.0  # 9.45 capped for a cash account
    assert vol_target_weight(1.0, 0.001, max_leverage=2.0) == 2.0
    assert vol_target_weight(1.0, 0.001, share=0.5, risk_scale=0.5) == 0.5
    # long-only unless allow_short; the entry threshold; undefined and flat volatility
    assert vol_target_weight(-0.5, 0.01) == 0.0
    assert vol_target_weight(-0.5, 0.01, allow_short=True) == pytest.approx(-expected)
    assert vol_target_weight(-1.0, 0.001, allow_short=True) == -1.0
    assert vol_target_weight(0.1, 0.01, threshold=0.2) == 0.0
    assert vol_target_weight(0.3, 0.01, threshold=0.2) == pytest.approx(0.3 * expected / 0.5)
    assert math.isnan(vol_target_weight(0.5, float("nan")))
    assert math.isnan(vol_target_weight(float("nan"), 0.01))
    assert vol_target_weight(0.5, 0.0) == 0.0
    # target_fraction's branch: the size, capped by max_leverage and not by max_position
    assert target_fraction(0.5, threshold=0.0, max_position=0.3, sizing="vol_target",
                           annual_vol=0.01 * ROOT252) == pytest.approx(expected)
    assert target_fraction(-0.5, threshold=0.0, max_position=0.3, sizing="vol_target",
                           annual_vol=0.01 * ROOT252) == pytest.approx(expected)
    assert target_fraction(0.5, threshold=0.0, max_position=0.3, sizing="vol_target",
                           annual_vol=None) == 0.0


def test_the_band_rule() -> None:
    assert not needs_rebalance(0.50, 0.45, 0.1)
    assert not needs_rebalance(0.50, 0.60, 0.1)
    assert needs_rebalance(0.50, 0.39, 0.1)
    assert needs_rebalance(0.50, 0.61, 0.1)
    assert needs_rebalance(0.05, 0.0, 0.1), "flat and a target: enter"
    assert needs_rebalance(0.0, 0.05, 0.1), "a target of 0 closes"
    assert needs_rebalance(-0.02, 0.03, 0.1), "the other side: trade"
    assert not needs_rebalance(0.0, 0.0, 0.1)


def test_the_default_follows_the_artifacts_head(long_model: Artifact, tmp_path: Path) -> None:
    position = SimpleNamespace(model_config=SimpleNamespace(head="position"))
    assert default_sizing(position) == "vol_target"
    assert default_sizing(SimpleNamespace(model_config=SimpleNamespace())) == "confidence"
    short_feed = crafted_market(regime_path()[:60])  # no signal yet: only the params resolve
    _, classifier = run(short_feed, long_model, sizing=None)
    assert (classifier.sizing, classifier.threshold, classifier.cooldown) == ("confidence", 0.2, 0)
    if "head" not in {f.name for f in dataclasses.fields(ModelConfig)}:
        pytest.skip("ModelConfig has no head yet")
    as_position = dataclasses.replace(
        long_model, model_config=dataclasses.replace(long_model.model_config, head="position"))
    _, strat = run(short_feed, as_position, sizing=None)
    assert (strat.sizing, strat.threshold, strat.cooldown) == ("vol_target", 0.0, 5)
    _, chosen = run(short_feed, as_position, sizing="confidence", threshold=0.3, cooldown=2)
    assert (chosen.sizing, chosen.threshold, chosen.cooldown) == ("confidence", 0.3, 2)


def test_vol_target_needs_the_ta_v2_line(tmp_path: Path) -> None:
    v1 = constant_signal_artifact(tmp_path / "v1", *LONG)
    assert "ex_ante_vol" not in v1_spec().line_names
    with pytest.raises(ConfigError, match="vol_target.*ta-v1"):
        run(crafted_market(regime_path()[:60]), v1)


# -- 2. the feature line -----------------------------------------------------------------------
class _Lines(bt.Strategy):
    def __init__(self) -> None:
        self.fv = FeatureVector(self.data, spec=SPEC)


@pytest.mark.parametrize(("runonce", "preload"), [(True, True), (False, True), (False, False)])
def test_ex_ante_vol_line_is_the_shared_definition(runonce: bool, preload: bool) -> None:
    path = DATA_DIR / "orcl-1995-2014.txt"
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload)
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(
        dataname=str(path), todate=pd.Timestamp("2003-12-31").to_pydatetime()))
    cerebro.addstrategy(_Lines)
    strat = cerebro.run()[0]
    line = np.asarray(strat.fv.ex_ante_vol.array, dtype=np.float64)
    close = np.asarray(strat.data.close.array, dtype=np.float64)
    w = warmup_bars(SPEC)
    assert np.isnan(line[:w]).all() and np.isfinite(line[w:]).all()
    np.testing.assert_allclose(line[w:], ex_ante_vol(close)[w:], rtol=1e-9, atol=0.0)
    # the model's inputs (and so every artifact) are unchanged
    assert "ex_ante_vol" in SPEC.line_names and "ex_ante_vol" not in SPEC.names
    assert SPEC.n_features == 9


# -- 3. sizing and the band in the strategy ----------------------------------------------------
def test_first_entry_holds_the_target_weight(long_model: Artifact) -> None:
    df = crafted_market(regime_path())
    _, strat = run(df, long_model)
    entry = orders_of(strat, "entry")[0]
    t = bar_of(df, entry)
    sigma = ex_ante_vol(df["close"].to_numpy())[t]
    weight = min(1.0, 0.5 * 0.15 / (sigma * ROOT252))
    assert 0.3 < weight < 1.0  # a real, uncapped target
    assert entry.created.size == math.floor(weight * 100_000.0 / df["close"].iloc[t])
    first = strat.rows[0]
    assert first.target == pytest.approx(weight, rel=1e-9) and first.action == "buy"


def _check_band(rows: list[Row], band: float) -> tuple[int, int]:
    """Every hold is inside the band, every trade outside it (or a change of side)."""
    trades = holds = 0
    for row in rows:
        gap = abs(row.target - row.current)
        if row.action in ("buy", "sell", "exit"):
            assert gap > band or (row.target > 0) != (row.current > 0), row
            trades += 1
        elif "within the band" in row.reason:
            assert gap <= band and (row.target > 0) == (row.current > 0), row
            holds += 1
    return trades, holds


def test_no_trade_inside_the_band_and_a_trade_past_it(long_model: Artifact) -> None:
    df = crafted_market(regime_path())
    counts = {}
    for band in (0.02, 0.1, 0.3):
        _, strat = run(df, long_model, rebalance_band=band)
        trades, holds = _check_band(strat.rows, band)
        assert holds >= 20
        counts[band] = trades
        if band == 0.1:
            assert len(orders_of(strat, "reduce")) >= 2, "the rising volatility cut the position"
            # each order is the difference between the target's units and the units held
            orders = {bar_of(df, o) + 1: o for o in strat.broker.orders
                      if strat.order_role(o.ref) in ("entry", "reduce")}
            traded = [r for r in strat.rows if r.action in ("buy", "sell")]
            assert len(traded) == len(orders) >= 4
            for row in traded:
                units = row.target * row.value / row.close - row.owned
                assert orders[row.bar].created.size == math.copysign(
                    math.floor(abs(units)), units), row
    assert counts[0.02] > counts[0.1] > counts[0.3] >= 1


def test_long_only_never_shorts(long_model: Artifact, short_model: Artifact) -> None:
    df = crafted_market(regime_path())
    cerebro, strat = run(df, short_model)
    assert cerebro.broker.orders == [], "a negative target is no position when long-only"
    assert {r.target for r in strat.rows} == {0.0}
    cerebro, strat = run(df, short_model, allow_short=True)
    assert strat.min_position < 0 and {t.side for t in strat.trades} == {"short"}
    assert strat.coverage_gaps == []


# -- 4. reductions keep what stays protected ---------------------------------------------------
def test_a_reduction_keeps_the_remaining_position_fully_protected(
    long_model: Artifact, caplog: pytest.LogCaptureFixture
) -> None:
    df = crafted_market(regime_path())
    with caplog.at_level(logging.WARNING):
        cerebro, strat = run(df, long_model, stop_loss=0.25, trail_percent=0.5,
                             take_profit=2.0, commission=0.001)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "no warning"
    reductions = orders_of(strat, "reduce")
    assert len(reductions) >= 2 and all(o.status == o.Completed for o in reductions)
    assert strat.coverage_gaps == [], "stops != units that stay"
    data = strat.datas[0]
    held = cerebro.broker.getposition(data).size
    assert held > 0 and protected_units(strat, data) == held
    # one stop level for the whole position: the first fill's, whatever was sold since
    entry_price = orders_of(strat, "entry")[0].executed.price
    stops = [o for o in cerebro.broker.orders if o.exectype == bt.Order.Stop]
    assert len(stops) > len(reductions)
    assert all(o.created.price == pytest.approx(entry_price * 0.75) for o in stops)
    # the trailing stop that stays is at least as tight as the one it replaced
    assert all(b is not None and a is not None and a >= b - 1e-9 for b, a in strat.trail_carry)
    # the open trade: bought in one part or more, partly sold, valued at the end
    (trade,) = strat.trades
    assert trade.exit_reason == "open"
    bought = sum(o.executed.size for o in orders_of(strat, "entry"))
    assert trade.size == pytest.approx(bought)
    sold = -sum(o.executed.size for o in reductions)
    assert held == pytest.approx(bought - sold)


# -- 5. the cooldown after a stop, across a restart --------------------------------------------
def _stop_path() -> tuple[pd.DataFrame, int]:
    df = crafted_market(regime_path(n_calm=480, n_wild=0))
    drop = 430
    df.iloc[drop, df.columns.get_loc("low")] = df["open"].iloc[drop] * 0.70
    return df, drop


def test_the_stopped_side_waits_cooldown_bars_even_after_a_restart(
    long_model: Artifact, tmp_path: Path
) -> None:
    df, drop = _stop_path()
    _, whole = run(df, long_model)
    stopped = [t for t in whole.trades if t.exit_reason == "stop"]
    assert len(stopped) == 1 and pd.Timestamp(stopped[0].exit_time) == df.index[drop]
    (reentry,) = [o for o in orders_of(whole, "entry") if bar_of(df, o) > drop]
    # the stop's bar and the 5 after it wait; then the target still says long
    assert bar_of(df, reentry) == drop + 6
    waits = [r for r in whole.rows if "cooldown" in r.reason]
    assert len(waits) == 6

    # The same, stopped out in session 1, restarted for session 2 from the state file.
    state = tmp_path / "state.json"
    run(df.iloc[: drop + 2], long_model, state_path=str(state))
    saved = json.loads(state.read_text())["datas"]["data0"]
    assert (saved["owned"], saved["last_exit_side"], saved["last_exit_reason"]) == (
        0.0, "long", "stop")
    start = drop + 1 - 400
    second = df.iloc[start:]
    _, resumed = run(second, long_model, state_path=str(state),
                     trade_start=second.index[drop + 1 - start].to_pydatetime())
    (entry,) = orders_of(resumed, "entry")[:1]
    assert bar_of(df, entry) == drop + 6
    # Confidence sizing keeps its own rule: no cooldown by default.
    _, classic = run(df, long_model, sizing="confidence")
    after = [o for o in orders_of(classic, "entry") if bar_of(df, o) > drop]
    assert after and bar_of(df, after[0]) == drop + 1


# -- 6. a sizer of the user's own --------------------------------------------------------------
def test_a_user_sizer_sizes_entries_and_the_target_only_opens_and_closes(
    long_model: Artifact,
) -> None:
    df = crafted_market(regime_path())
    _, strat = run(df, long_model, sizer=(bt.sizers.FixedSize, {"stake": 7}))
    assert [o.created.size for o in orders_of(strat, "entry")] == [7]
    assert orders_of(strat, "reduce") == []


# -- 7. real data: run modes and partial fills -------------------------------------------------
REAL = {"stop_loss": 0.05, "trail_percent": 0.1, "take_profit": 0.3, "regime_filter": True}


def _yahoo(name: str, start: str = "2003-01-01", end: str = "2007-12-31") -> bt.DataBase:
    return bt.feeds.YahooFinanceCSVData(
        dataname=str(DATA_DIR / name), fromdate=pd.Timestamp(start).to_pydatetime(),
        todate=pd.Timestamp(end).to_pydatetime())


@pytest.fixture(params=["tiny", "constant"])
def real_model(request: pytest.FixtureRequest, long_model: Artifact) -> Artifact | Path:
    """The session's tiny model (its signal moves; whatever its head, vol_target sizes its
    confidence), and the constant +0.5 model, whose target moves with volatility alone, so
    that positions are resized whatever the tiny model happens to say."""
    if request.param == "constant":
        return long_model
    return request.getfixturevalue("tiny_artifact")


def _protection_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
            and ("unprotected" in r.getMessage() or "not fully protected" in r.getMessage())]


def test_run_modes_give_the_same_trades_and_value(
    real_model: Artifact | Path, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes = []
    for runonce, preload in ((True, True), (False, True), (False, False)):
        with caplog.at_level(logging.WARNING):
            cerebro, strat = run(None, real_model, datas=[_yahoo("yhoo-1996-2014.txt")],
                                 runonce=runonce, preload=preload, commission=0.001, **REAL)
        assert strat.coverage_gaps == [] and strat.min_position >= 0
        kinds = {role: len(orders_of(strat, role)) for role in ("entry", "reduce", "exit")}
        outcomes.append((
            round(cerebro.broker.getvalue(), 6),
            [(t.side, t.size, str(t.entry_time), str(t.exit_time), t.exit_reason,
              round(t.pnl, 6)) for t in strat.trades],
            [(strat.order_role(o.ref), o.getordername(), o.getstatusname(), o.created.size,
              o.executed.size, o.executed.price) for o in cerebro.broker.orders],
        ))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert _protection_warnings(caplog) == []
    value, trades, _ = outcomes[0]
    assert len(trades) >= 3 and value != 100_000.0
    if isinstance(real_model, Artifact):  # the constant model: resized as volatility moves
        assert kinds["entry"] > len(trades) and kinds["reduce"] >= 3, kinds


def test_partial_fills_keep_protection_equal_to_the_position(
    long_model: Artifact, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        cerebro, strat = run(None, long_model, datas=[_yahoo("yhoo-1996-2014.txt")],
                             filler=bt.broker.fillers.FixedSize(size=150), commission=0.001,
                             **REAL)
    assert _protection_warnings(caplog) == []
    data = strat.datas[0]
    assert strat.coverage_gaps == [], "stops != units that stay"
    held = cerebro.broker.getposition(data).size
    assert strat.owned(data) == held
    assert protected_units(strat, data) == pytest.approx(abs(held))
    parts = {role: [len(o.executed.exbits) for o in orders_of(strat, role)
                    if o.status == o.Completed] for role in ("entry", "reduce")}
    assert max(parts["entry"]) >= 2 and max(parts["reduce"]) >= 2, "fills in several parts"
    closed = [t for t in strat.trades if t.exit_reason != "open"]
    ta = strat.analyzers.ta.get_analysis()
    assert len(closed) == ta.total.closed >= 1
    assert sum(t.pnl for t in closed) == pytest.approx(ta.pnl.net.total, abs=1e-6)


def test_several_feeds_share_the_leverage_cap(long_model: Artifact) -> None:
    datas = [_yahoo("yhoo-1996-2014.txt"), _yahoo("orcl-1995-2014.txt")]
    for data, name in zip(datas, ("yhoo", "orcl"), strict=True):
        data._name = name
    # a target volatility so high that every weight hits the cap: each feed holds half of it
    cerebro, strat = run(None, long_model, datas=datas, target_vol=5.0, commission=0.001, **REAL)
    assert strat.coverage_gaps == [] and strat.min_cash >= 0.0
    by_feed = {name: [r for r in strat.rows if r.feed == name] for name in ("yhoo", "orcl")}
    for rows in by_feed.values():
        both_ready = [r for r in rows if r.bar > 400]  # orcl and yhoo both warmed up by then
        assert both_ready and max(abs(r.target) for r in both_ready) == pytest.approx(0.5)
    assert {t.data for t in strat.trades} == {"yhoo", "orcl"}
