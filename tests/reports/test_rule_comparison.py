"""The model against the trading rules on the same bars, vol targeting and costs: scores checked
against direct computations, the portfolio, the break-even cost, the verdict and its JSON."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.data.synthetic import random_walk_market
from bt_attention_lstm.models.portfolio.trading_rules import RULES
from bt_attention_lstm.models.portfolio.vol_targeting import VolTarget
from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.rule_comparison import (
    RuleComparison,
    compare_with_rules,
    rule_positions,
    verdict_line,
)
from bt_attention_lstm.reports.strategy_score import StrategyScore
from tests.conftest import DATA_DIR

DATA = DATA_DIR / "orcl-1995-2014.txt"
VT = VolTarget(target_vol=0.15, max_leverage=2.0, periods_per_year=252.0)
ROWS = ["attention_lstm", *RULES]


@pytest.fixture(scope="module")
def orcl() -> pd.Series:
    return load_ohlcv(DATA)["close"]


@pytest.fixture(scope="module")
def walks() -> dict[str, pd.Series]:
    """Three SYNTHETIC random walks on overlapping but different calendars."""
    starts = {"rw1": "2005-01-03", "rw2": "2005-07-01", "rw3": "2006-01-02"}
    return {s: random_walk_market(2500, seed=i, start=d)["close"]
            for i, (s, d) in enumerate(starts.items(), start=11)}


def noise(closes: dict[str, pd.Series], seed: int = 3) -> dict[str, pd.Series]:
    rng = np.random.default_rng(seed)
    return {s: pd.Series(rng.uniform(-1.0, 1.0, c.size), index=c.index) for s, c in closes.items()}


def oracle(closes: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Looks one bar ahead on purpose: position_t = sign(C_{t+1} / C_t - 1)."""
    return {s: np.sign(c.shift(-1) / c - 1.0).fillna(0.0) for s, c in closes.items()}


def starts(closes: dict[str, pd.Series], bar: int = 400) -> dict[str, pd.Timestamp]:
    return {s: c.index[bar] for s, c in closes.items()}


def direct_buy_and_hold(close: pd.Series, first: int, cost: float) -> pd.Series:
    """Vol-scaled buy-and-hold from bar ``first`` written out with pandas: sigma_t is the EW
    (span 60) RMS of log returns, w_t = min(0.15 / (sigma_t sqrt(252)), 2), flat before
    ``first``; R_{t+1} = w_t (C_{t+1} / C_t - 1) - cost |w_t - w_{t-1}|."""
    r = np.log(close).diff()
    sigma = np.sqrt((r * r).ewm(span=60, adjust=False).mean())  # seed forgotten by bar 1500
    w = np.minimum(0.15 / (sigma * math.sqrt(252.0)), 2.0).to_numpy(copy=True)
    w[:first] = 0.0
    c = close.to_numpy()
    k = np.arange(first + 1, c.size)
    net = w[k - 1] * (c[k] / c[k - 1] - 1.0) - cost * np.abs(w[k - 1] - w[k - 2])
    return pd.Series(net, index=close.index[k])


def test_rule_positions_are_the_registry_on_the_index(orcl: pd.Series) -> None:
    got = rule_positions(orcl)
    assert list(got) == list(RULES)
    for name, series in got.items():
        assert series.index.equals(orcl.index)
        np.testing.assert_array_equal(series.to_numpy(), RULES[name](orcl.to_numpy()))


def test_buy_and_hold_equals_a_direct_computation(orcl: pd.Series) -> None:
    first = 1500
    model = pd.Series(1.0, index=orcl.index)  # a model that always holds: buy-and-hold
    res = compare_with_rules({"ORCL": orcl}, {"ORCL": model}, orcl.index[first], VT, cost=0.001)
    want = direct_buy_and_hold(orcl, first, 0.001)
    got = res.symbols["ORCL"].score("buy_and_hold")
    assert got.n_bars == want.size == orcl.size - 1 - first
    assert got.sharpe == pytest.approx(want.mean() / want.std(ddof=1) * math.sqrt(252), rel=1e-9)
    assert got.ann_return == pytest.approx(want.mean() * 252, rel=1e-9)
    assert got.ann_vol == pytest.approx(want.std(ddof=1) * math.sqrt(252), rel=1e-9)
    equity = np.cumprod(np.r_[1.0, 1.0 + want.to_numpy()])
    assert got.max_drawdown == pytest.approx(np.min(equity / np.maximum.accumulate(equity) - 1))
    gross = direct_buy_and_hold(orcl, first, 0.0)
    traded = (gross - want) / 0.001
    assert got.turnover == pytest.approx(traded.mean() * 252, rel=1e-6)
    assert got.break_even_bps == pytest.approx(gross.mean() / traded.mean() * 1e4, rel=1e-6)
    pd.testing.assert_series_equal(res.symbol_returns["ORCL"]["buy_and_hold"], want,
                                   check_names=False, rtol=1e-9, atol=1e-12)
    # the model holding 1 is buy-and-hold, bar for bar, and one symbol is its own portfolio
    assert res.symbols["ORCL"].score("attention_lstm") == replace(got, name="attention_lstm")
    assert res.portfolio.scores == res.symbols["ORCL"].scores


def test_sharpe_against_cost_and_the_break_even(orcl: pd.Series) -> None:
    start = orcl.index[1500]
    model = {"ORCL": pd.Series(0.0, index=orcl.index)}
    res = compare_with_rules({"ORCL": orcl}, model, start, VT, cost=0.001)
    for s in res.portfolio.scores[1:]:
        assert s.sharpe_at_bps[10] == pytest.approx(s.sharpe, rel=1e-12)
        sr = [s.sharpe_at_bps[b] for b in (0, 5, 10, 20)]
        assert sr == sorted(sr, reverse=True) and sr[0] > sr[-1], s.name
    tsmom = res.portfolio.score("tsmom")
    assert tsmom.break_even_bps is not None and tsmom.break_even_bps > 0
    for name in ("tsmom", "buy_and_hold", "sma_cross"):
        be = res.portfolio.score(name).break_even_bps
        assert be is not None
        at = compare_with_rules({"ORCL": orcl}, model, start, VT, cost=be * 1e-4)
        assert abs(at.portfolio.score(name).sharpe) < 1e-9, name
        below = compare_with_rules({"ORCL": orcl}, model, start, VT, cost=(be - 1) * 1e-4)
        above = compare_with_rules({"ORCL": orcl}, model, start, VT, cost=(be + 1) * 1e-4)
        assert below.portfolio.score(name).sharpe > 0 > above.portfolio.score(name).sharpe


def test_a_flat_model_has_no_turnover_and_no_break_even(orcl: pd.Series) -> None:
    model = {"ORCL": pd.Series(0.0, index=orcl.index)}
    res = compare_with_rules({"ORCL": orcl}, model, orcl.index[1500], VT)
    flat = res.portfolio.score("attention_lstm")
    assert flat.turnover == 0.0 and flat.break_even_bps is None
    assert flat.sharpe == 0.0 and flat.sharpe_se == 0.0 and math.isnan(flat.psr)
    assert not res.has_edge and not res.beats_best_rule_with_evidence
    assert res.verdict.startswith("No evidence of an edge")
    d = res.to_dict()["portfolio"]["scores"]["attention_lstm"]
    assert d["psr"] is None and d["break_even_bps"] is None and d["max_drawdown"] == 0.0


def test_portfolio_is_the_date_by_date_mean(walks: dict[str, pd.Series]) -> None:
    res = compare_with_rules(walks, noise(walks), starts(walks), VT, cost=0.0005)
    for name in ROWS:
        per_symbol = pd.concat({s: r[name] for s, r in res.symbol_returns.items()}, axis=1)
        want = per_symbol.mean(axis=1)  # over the symbols that have a return that date
        pd.testing.assert_series_equal(res.returns[name], want, check_names=False,
                                       check_freq=False, rtol=1e-12)
        sharpe = want.mean() / want.std(ddof=1) * math.sqrt(252)
        assert res.portfolio.score(name).sharpe == pytest.approx(sharpe, rel=1e-9)
    # before rw2 starts, the portfolio is rw1 alone
    only_rw1 = res.returns.index < res.symbol_returns["rw2"].index[0]
    assert only_rw1.sum() > 50
    pd.testing.assert_frame_equal(res.returns[only_rw1],
                                  res.symbol_returns["rw1"].loc[res.returns.index[only_rw1]],
                                  check_freq=False)
    assert res.portfolio.first == res.symbol_returns["rw1"].index[0]
    assert res.portfolio.last == max(r.index[-1] for r in res.symbol_returns.values())


def test_every_row_is_scored_on_the_models_bars(walks: dict[str, pd.Series]) -> None:
    closes = {"rw1": walks["rw1"]}
    late = noise(closes)["rw1"]
    late.iloc[:700] = np.nan  # the model has no position before bar 700
    res = compare_with_rules(closes, {"rw1": late}, closes["rw1"].index[400], VT)
    table = res.symbols["rw1"]
    assert {s.n_bars for s in table.scores} == {closes["rw1"].size - 1 - 700}
    assert table.first == closes["rw1"].index[701]
    # what the model held before the start is ignored: every strategy enters from flat
    pos = noise(closes, seed=5)["rw1"]
    start = closes["rw1"].index[400]
    changed = pos.copy()
    changed.iloc[:400] = -pos.iloc[:400]
    a = compare_with_rules(closes, {"rw1": pos}, start, VT).to_dict()
    b = compare_with_rules(closes, {"rw1": changed}, start, VT).to_dict()
    assert a == b
    first_model_return = compare_with_rules(closes, {"rw1": pos}, start, VT).symbol_returns["rw1"]
    c = closes["rw1"]
    assert first_model_return.index[0] == c.index[401]


def test_random_positions_on_a_random_walk_show_no_evidence(walks: dict[str, pd.Series]) -> None:
    for cost in (0.0, 0.001):
        res = compare_with_rules(walks, noise(walks), starts(walks), VT, cost=cost)
        model, best = res.portfolio.scores[0], res.portfolio.score(res.best_rule)
        assert not res.has_edge and not res.beats_best_rule_with_evidence
        assert model.psr < 0.95 and res.psr_vs_best_rule < 0.95
        assert res.verdict.startswith("No evidence of an edge: attention_lstm Sharpe")
        assert f"best rule {res.best_rule} Sharpe {best.sharpe:.2f}" in res.verdict
        assert f"Sharpe {model.sharpe:.2f}" in res.verdict
        assert best.sharpe == max(s.sharpe for s in res.portfolio.scores[1:])


def test_an_oracle_beats_the_rules_with_evidence(walks: dict[str, pd.Series]) -> None:
    res = compare_with_rules(walks, oracle(walks), starts(walks), VT, cost=0.001)
    model, best = res.portfolio.scores[0], res.portfolio.score(res.best_rule)
    assert res.has_edge and res.beats_best_rule_with_evidence
    assert res.psr_vs_best_rule >= 0.95 and model.sharpe > best.sharpe + 3.0
    assert res.verdict.startswith(f"attention_lstm beats the best rule, {res.best_rule}, with "
                                  f"evidence: Sharpe {model.sharpe:.2f} vs {best.sharpe:.2f}")
    assert "after 10 bps" in res.verdict


def test_buy_and_hold_as_the_model_has_an_edge_but_cannot_beat_itself(orcl: pd.Series) -> None:
    model = {"ORCL": pd.Series(1.0, index=orcl.index)}
    res = compare_with_rules({"ORCL": orcl}, model, pd.Timestamp("2005-01-03"), VT)
    me = res.portfolio.scores[0]
    assert me.sharpe == res.portfolio.score("buy_and_hold").sharpe
    assert me.psr >= 0.95 and res.has_edge
    assert res.psr_vs_best_rule <= 0.5 + 1e-9 and not res.beats_best_rule_with_evidence
    assert res.verdict.startswith(f"attention_lstm has an edge (Sharpe {me.sharpe:.2f}, PSR vs 0 "
                                  f"{me.psr:.3f}) but no evidence that it beats the best rule, "
                                  f"{res.best_rule}")


def _score(name: str, sharpe: float, psr: float) -> StrategyScore:
    return StrategyScore(name, 500, sharpe, 0.3, psr, 0.1, 0.15, -0.2, 4.0,
                         {0: sharpe, 5: sharpe, 10: sharpe, 20: sharpe}, 25.0)


def test_verdict_without_an_edge_against_losing_rules() -> None:
    line = verdict_line(_score("m", 0.4, 0.80), _score("macd", -0.9, 0.02), psr_vs_best=0.99,
                        cost=0.0005, has_edge=False, beats=True)
    assert line == ("No evidence of an edge: m Sharpe 0.40 ± 0.30 (PSR vs 0 0.800 < 0.95) after "
                    "5 bps; best rule macd Sharpe -0.90. It beats macd (PSR 0.990 against its "
                    "Sharpe) only because that rule loses.")
    line = verdict_line(_score("m", 0.4, math.nan), _score("tsmom", 0.9, 0.99), math.nan,
                        cost=0.001, has_edge=False, beats=False)
    assert line.startswith("No evidence of an edge: m Sharpe 0.40 ± 0.30 (PSR vs 0 n/a < 0.95)")
    assert line.endswith("after 10 bps; best rule tsmom Sharpe 0.90.")


def test_to_dict_round_trips_through_strict_json(walks: dict[str, pd.Series]) -> None:
    res = compare_with_rules(walks, noise(walks), starts(walks), VT, model_name="mine")
    d = res.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert list(d["portfolio"]["scores"]) == ["mine", *RULES]
    assert list(d["symbols"]) == ["rw1", "rw2", "rw3"]
    assert d["cost_bps"] == pytest.approx(10.0) and d["vol_target"]["max_leverage"] == 2.0
    assert d["beats_best_rule_with_evidence"] is False and d["best_rule"] in RULES
    row = d["portfolio"]["scores"]["mine"]
    assert list(row["sharpe_at_bps"]) == ["0", "5", "10", "20"]
    assert row["sharpe"] == res.portfolio.scores[0].sharpe
    assert d["portfolio"]["first"] == res.portfolio.first.isoformat()


def test_format_table_lists_the_model_then_the_rules(walks: dict[str, pd.Series]) -> None:
    res: RuleComparison = compare_with_rules(walks, noise(walks), starts(walks), VT)
    text = res.format_table()
    blocks = text.strip().split("\n\n")
    assert blocks[0] == res.verdict
    assert [b.splitlines()[0].split(":")[0] for b in blocks[1:]] == ["portfolio", *walks]
    rows = blocks[1].splitlines()
    assert rows[1].split()[:4] == ["strategy", "Sharpe", "±", "SE"]
    assert [r.split()[0] for r in rows[2:]] == ROWS
    model = res.portfolio.scores[0]
    assert rows[2].split()[1:4] == [f"{model.sharpe:.2f}", "±", f"{model.sharpe_se:.2f}"]


def test_a_start_per_symbol(walks: dict[str, pd.Series]) -> None:
    begin = {"rw1": walks["rw1"].index[500], "rw2": walks["rw2"].index[900],
             "rw3": walks["rw3"].index[300]}
    res = compare_with_rules(walks, noise(walks), begin, VT)
    for s, c in walks.items():
        assert res.symbols[s].first == c.index[c.index.get_loc(begin[s]) + 1]


def test_bad_input_is_refused(walks: dict[str, pd.Series]) -> None:
    closes = {"rw1": walks["rw1"]}
    start = walks["rw1"].index[400]
    with pytest.raises(ReportError, match="same, non-empty set"):
        compare_with_rules(closes, noise(walks), start)
    with pytest.raises(ReportError, match=r"\[-1, 1\]"):
        compare_with_rules(closes, {"rw1": 2.0 * noise(closes)["rw1"]}, start)
    with pytest.raises(ReportError, match="named like a rule"):
        compare_with_rules(closes, noise(closes), start, model_name="tsmom")
    with pytest.raises(ReportError, match="cost"):
        compare_with_rules(closes, noise(closes), start, cost=-0.001)
    with pytest.raises(ReportError, match="no close"):
        compare_with_rules(closes, {"rw1": noise(walks)["rw2"]}, start)
    with pytest.raises(ReportError, match="nothing to score"):
        compare_with_rules(closes, noise(closes), walks["rw1"].index[-2])
