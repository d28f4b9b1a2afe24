"""The model against the simple trading rules, scored on the same bars, with the same volatility
targeting and the same costs, per symbol and for the equal-weight portfolio.

For the model and every rule of ``models.portfolio.trading_rules.RULES``, on each symbol and for the
equal-weight portfolio: the net returns of ``reports.scored_returns`` (every position scaled by
the same ``VolTarget``, after the same cost, on the bars where the model has a position from the
evaluation start on), scored by ``reports.strategy_score``.

Verdict: the best rule is the one with the highest portfolio Sharpe at the given cost. The model
beats it with evidence when PSR(model returns, benchmark = the best rule's per-bar Sharpe) >= 0.95
(Bailey & Lopez de Prado, 2012), and has an edge when its PSR against 0 is >= 0.95.

See: Lim, Zohren & Roberts, "Enhancing Time Series Momentum Strategies Using Deep Neural
Networks" (2019), the volatility-scaled baselines and their costs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from bt_attention_lstm.models.portfolio.trading_rules import RULES
from bt_attention_lstm.models.portfolio.vol_targeting import VolTarget
from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.jsonsafe import to_jsonable
from bt_attention_lstm.reports.rule_table import format_scores
from bt_attention_lstm.reports.scored_returns import (
    NetReturns,
    checked_position,
    portfolio_returns,
    rule_positions,
    scored_returns,
)
from bt_attention_lstm.reports.stats import probabilistic_sharpe_ratio
from bt_attention_lstm.reports.strategy_score import (
    BPS,
    COST_LEVELS_BPS,
    StrategyScore,
    score_strategy,
)

__all__ = [
    "RuleComparison", "ScoreTable", "compare_with_rules", "rule_positions", "verdict_line",
]

logger = logging.getLogger(__name__)

EVIDENCE = 0.95
DEFAULT_COST = 0.001
DEFAULT_MODEL_NAME = "attention_lstm"
DEFAULT_VOL_TARGET = VolTarget()


@dataclass(frozen=True)
class ScoreTable:
    """The scores of every strategy on one set of bars (a symbol or the portfolio): the model
    first, then the rules in ``RULES`` order."""

    first: pd.Timestamp
    last: pd.Timestamp
    scores: tuple[StrategyScore, ...]

    def score(self, name: str) -> StrategyScore:
        for s in self.scores:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({
            "first": self.first,
            "last": self.last,
            "scores": {s.name: s.to_dict() for s in self.scores},
        })


@dataclass(frozen=True)
class RuleComparison:
    """The model against the rules at ``cost``; ``verdict`` is one line for a report.
    ``returns`` (portfolio) and ``symbol_returns`` hold the scored net returns at ``cost``, one
    column per strategy, for charts; ``to_dict`` leaves them out."""

    model_name: str
    cost: float
    vol_target: VolTarget
    portfolio: ScoreTable
    symbols: Mapping[str, ScoreTable]
    best_rule: str
    psr_vs_best_rule: float
    has_edge: bool
    beats_best_rule_with_evidence: bool
    verdict: str
    returns: pd.DataFrame = field(compare=False, repr=False)
    symbol_returns: Mapping[str, pd.DataFrame] = field(compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (floats or None, no NaN)."""
        return to_jsonable({
            "model_name": self.model_name,
            "cost": self.cost,
            "cost_bps": self.cost / BPS,
            "vol_target": asdict(self.vol_target),
            "best_rule": self.best_rule,
            "psr_vs_best_rule": self.psr_vs_best_rule,
            "has_edge": self.has_edge,
            "beats_best_rule_with_evidence": self.beats_best_rule_with_evidence,
            "verdict": self.verdict,
            "portfolio": self.portfolio.to_dict(),
            "symbols": {sym: table.to_dict() for sym, table in self.symbols.items()},
        })

    def format_table(self) -> str:
        """The verdict, then a text table for the portfolio and one per symbol."""
        def title(what: str, t: ScoreTable) -> str:
            return (f"{what}: {t.scores[0].n_bars} bars {t.first:%Y-%m-%d} .. {t.last:%Y-%m-%d}, "
                    f"Sharpe at {self.cost / BPS:g} bps")

        blocks = [self.verdict, format_scores(title("portfolio", self.portfolio),
                                              self.portfolio.scores)]
        blocks += [format_scores(title(sym, t), t.scores) for sym, t in self.symbols.items()]
        return "\n\n".join(blocks) + "\n"


def _table(returns: dict[str, NetReturns], cost: float, periods_per_year: float) -> ScoreTable:
    index = next(iter(returns.values())).traded.index
    scores = tuple(score_strategy(name, r, cost, periods_per_year) for name, r in returns.items())
    return ScoreTable(first=index[0], last=index[-1], scores=scores)


def _at_cost(returns: dict[str, NetReturns], cost: float) -> pd.DataFrame:
    return pd.DataFrame({name: r.by_cost[cost] for name, r in returns.items()})


def verdict_line(model: StrategyScore, best: StrategyScore, psr_vs_best: float, cost: float,
                 has_edge: bool, beats: bool) -> str:
    """One line: does the model beat the best rule, with evidence? ``has_edge``: the model's PSR
    against 0 is >= 0.95; ``beats``: its PSR against the best rule's Sharpe (``psr_vs_best``)
    is. Without an edge the line starts "No evidence of an edge"."""
    bps = f"{cost / BPS:g} bps"
    if not has_edge:
        line = (f"No evidence of an edge: {model.name} Sharpe {model.sharpe:.2f} ± "
                f"{model.sharpe_se:.2f} (PSR vs 0 {_p(model.psr)} < {EVIDENCE}) after {bps}; "
                f"best rule {best.name} Sharpe {best.sharpe:.2f}.")
        if beats:
            line += (f" It beats {best.name} (PSR {_p(psr_vs_best)} against its Sharpe) only "
                     "because that rule loses.")
        return line
    if beats:
        return (f"{model.name} beats the best rule, {best.name}, with evidence: Sharpe "
                f"{model.sharpe:.2f} vs {best.sharpe:.2f} after {bps} (PSR {_p(psr_vs_best)} "
                f"against {best.name}'s Sharpe, {_p(model.psr)} against 0).")
    return (f"{model.name} has an edge (Sharpe {model.sharpe:.2f}, PSR vs 0 {_p(model.psr)}) "
            f"but no evidence that it beats the best rule, {best.name} (Sharpe "
            f"{best.sharpe:.2f}; PSR against it {_p(psr_vs_best)} < {EVIDENCE}), after {bps}.")


def _p(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


def compare_with_rules(
    closes: Mapping[str, pd.Series],
    positions: Mapping[str, pd.Series],
    start: pd.Timestamp | Mapping[str, pd.Timestamp],
    vol_target: VolTarget = DEFAULT_VOL_TARGET,
    cost: float = DEFAULT_COST,
    model_name: str = DEFAULT_MODEL_NAME,
) -> RuleComparison:
    """Score the model's positions and every rule per symbol and for the equal-weight
    portfolio at ``cost`` (a fraction per unit of weight traded; 0.001 = 10 bps), on the bars
    from ``start`` (one date, or one per symbol: the first out-of-sample bar) where the model
    has a position. Annualised with ``vol_target.periods_per_year``."""
    if set(closes) != set(positions) or not closes:
        raise ReportError("closes and positions must name the same, non-empty set of symbols")
    if model_name in RULES:
        raise ReportError(f"the model cannot be named like a rule: {model_name!r}")
    if not (math.isfinite(cost) and cost >= 0.0):
        raise ReportError(f"the cost must be a fraction >= 0, got {cost}")
    costs = tuple(dict.fromkeys([cost, *(bps * BPS for bps in COST_LEVELS_BPS)]))
    periods_per_year = vol_target.periods_per_year
    per_symbol: dict[str, dict[str, NetReturns]] = {}
    for sym, close in closes.items():
        begin = pd.Timestamp(start[sym] if isinstance(start, Mapping) else start)
        pos = checked_position(sym, close, positions[sym])
        returns = scored_returns(close.rename(sym), pos, begin, vol_target, costs, model_name)
        if next(iter(returns.values())).traded.size < 3:
            raise ReportError(f"{sym}: fewer than 3 bars from {begin} where the model has a "
                              "position: nothing to score")
        per_symbol[sym] = returns
    names = list(next(iter(per_symbol.values())))
    pooled = {n: portfolio_returns([r[n] for r in per_symbol.values()]) for n in names}
    portfolio = _table(pooled, cost, periods_per_year)
    model = portfolio.scores[0]
    best = max(portfolio.scores[1:], key=lambda s: s.sharpe)  # first of equals: RULES order
    psr_vs_best = probabilistic_sharpe_ratio(pooled[model_name].by_cost[cost],
                                             benchmark_sharpe=best.sharpe
                                             / math.sqrt(periods_per_year))
    has_edge = bool(math.isfinite(model.psr) and model.psr >= EVIDENCE)
    beats = bool(math.isfinite(psr_vs_best) and psr_vs_best >= EVIDENCE)
    verdict = verdict_line(model, best, psr_vs_best, cost, has_edge, beats)
    logger.info("%s", verdict)
    return RuleComparison(
        model_name=model_name, cost=cost, vol_target=vol_target, portfolio=portfolio,
        symbols={sym: _table(r, cost, periods_per_year) for sym, r in per_symbol.items()},
        best_rule=best.name, psr_vs_best_rule=psr_vs_best, has_edge=has_edge,
        beats_best_rule_with_evidence=beats, verdict=verdict,
        returns=_at_cost(pooled, cost),
        symbol_returns={sym: _at_cost(r, cost) for sym, r in per_symbol.items()},
    )
