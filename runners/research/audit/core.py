"""The checks of an audit: look-ahead, in-sample overlap, Sharpe significance and a
surrogate-data test of "this edge is noise". Each returns plain data (``job.run_audit`` gathers
them, ``report`` words them)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from bt_attention_lstm.indicators.feature_vector import FeatureVector
from bt_attention_lstm.indicators.model_signal import ModelSignal
from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.inference.frame_predictions import SIGNAL_COLUMNS
from bt_attention_lstm.models.portfolio.vol_targeting import annualised_sharpe
from bt_attention_lstm.reports import probabilistic_sharpe_ratio
from bt_attention_lstm.runners.research.audit.surrogates import make_surrogate
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, pandas_feed, run_cerebro
from bt_attention_lstm.runners.research.reporting import in_sample

logger = logging.getLogger(__name__)

CAUSALITY_TOLERANCE = 1e-9  # features: float64, the same arithmetic on the same bars
# The model's float32 outputs on a bar may differ by a few ulps when the batch that holds the
# bar has another size (a truncated run ends a batch there); a look-ahead moves them by far more.
SIGNAL_TOLERANCE = 1e-6
PSR_LEVEL = 0.95  # PSR at or above it: the Sharpe ratio is > 0 with 95% confidence
P_VALUE_LEVEL = 0.05
MIN_SURROGATES = 19  # the smallest N with (1 + 0) / (1 + N) <= P_VALUE_LEVEL


def day(ts: pd.Timestamp) -> str:
    """A date for daily bars, the full timestamp for intraday ones."""
    return str(ts.date()) if ts == ts.normalize() else str(ts)


# -- look-ahead -------------------------------------------------------------------------------


class _SignalProbe(bt.Strategy):
    """Builds the model's FeatureVector and ModelSignal and trades nothing."""

    params = (("artifact", None), ("device", "cpu"))

    def __init__(self) -> None:
        self.fv = FeatureVector(self.data, spec=self.p.artifact.feature_spec)
        self.signal = ModelSignal(
            self.data, artifact=self.p.artifact, device=self.p.device, features=self.fv
        )


def signal_lines(df: pd.DataFrame, artifact: Artifact, device: str = "cpu") -> np.ndarray:
    """(n_bars, 4 + n_features): ModelSignal then FeatureVector lines, computed in runonce mode
    (backtrader preloads every bar, so the arrays hold the future while ``once`` runs)."""
    cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True)
    cerebro.adddata(pandas_feed(df))
    cerebro.addstrategy(_SignalProbe, artifact=artifact, device=device)
    probe = cerebro.run()[0]
    lines = [*probe.signal.lines, *probe.fv.lines]
    return np.column_stack([np.asarray(line.array[: len(df)], dtype=np.float64) for line in lines])


def max_deviation(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b|; NaN in both is equal, NaN in one only is infinitely far."""
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.abs(a - b)
    diff[both_nan] = 0.0
    diff[np.isnan(diff)] = math.inf
    return float(diff.max()) if diff.size else 0.0


@dataclass(frozen=True)
class CausalityResult:
    cuts: list[str]  # timestamps of the last bar kept in each truncated run
    max_deviation: float  # features: over every bar <= cut, every line, every cut
    signal_deviation: float = 0.0  # the model's lines, likewise
    tolerance: float = CAUSALITY_TOLERANCE
    signal_tolerance: float = SIGNAL_TOLERANCE

    @property
    def passed(self) -> bool:
        return (self.max_deviation <= self.tolerance
                and self.signal_deviation <= self.signal_tolerance)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def cut_positions(n_bars: int, first_defined: int, n_cuts: int = 3) -> list[int]:
    """Bars, evenly spread after the signal's warm-up, at which to truncate the data."""
    last = n_bars - 2  # a cut must leave at least one future bar out
    if last < first_defined:
        return []
    points = np.linspace(first_defined, last, n_cuts + 2)[1:-1]
    return sorted({int(round(p)) for p in points})


def causality_check(
    df: pd.DataFrame, artifact: Artifact, first_defined: int, n_cuts: int = 3,
    device: str = "cpu",
) -> CausalityResult:
    """Truncate the data after a few bars t; the signal and features at every bar <= t must equal
    those of the run on the full data (which had bars > t preloaded)."""
    full = signal_lines(df, artifact, device)
    n_signal = len(SIGNAL_COLUMNS)  # ModelSignal's lines come first
    cuts = cut_positions(len(df), first_defined, n_cuts)
    worst_features = worst_signal = 0.0
    for t in cuts:
        cut, before = signal_lines(df.iloc[: t + 1], artifact, device), full[: t + 1]
        worst_signal = max(worst_signal, max_deviation(cut[:, :n_signal], before[:, :n_signal]))
        worst_features = max(
            worst_features, max_deviation(cut[:, n_signal:], before[:, n_signal:])
        )
    return CausalityResult([day(df.index[t]) for t in cuts], worst_features, worst_signal)


# -- Sharpe -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestSummary:
    sharpe: float
    benchmark_sharpe: float
    psr: float | None  # probability that the per-bar Sharpe ratio is > 0
    total_return: float
    benchmark_total_return: float
    n_trades: int
    exposure: float

    @property
    def psr_passed(self) -> bool:
        return self.psr is not None and self.psr >= PSR_LEVEL


def summarise(returns: pd.DataFrame, n_trades: int, exposure: float, periods_per_year: float
              ) -> BacktestSummary:
    psr = probabilistic_sharpe_ratio(returns["strategy"])
    return BacktestSummary(
        sharpe=annualised_sharpe(returns["strategy"], periods_per_year),
        benchmark_sharpe=annualised_sharpe(returns["benchmark"], periods_per_year),
        psr=psr if math.isfinite(psr) else None,
        total_return=float((1.0 + returns["strategy"]).prod() - 1.0),
        benchmark_total_return=float((1.0 + returns["benchmark"]).prod() - 1.0),
        n_trades=int(n_trades),
        exposure=float(exposure),
    )


# -- in-sample ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlapResult:
    trained_start: str
    trained_end: str
    overlap: bool
    overlap_bars: int  # traded bars dated inside the model's training range

    @property
    def passed(self) -> bool:
        return not self.overlap


def overlap_check(artifact: Artifact, traded: pd.DatetimeIndex) -> OverlapResult:
    start, end = artifact.trained_range
    overlap = in_sample(artifact, traded[0], traded[-1])
    count = 0
    if overlap:
        try:
            lo, hi = pd.Timestamp(start), pd.Timestamp(end)
            if hi == hi.normalize():
                hi = hi + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
            count = int(((traded >= lo) & (traded <= hi)).sum())
        except ValueError:
            count = len(traded)  # unknown training range: every bar may be in-sample
    return OverlapResult(start, end, overlap, count)


# -- surrogates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurrogateResult:
    method: str
    n: int
    seed: int
    block_len: float | None
    sharpes: list[float]
    real_sharpe: float

    @property
    def n_at_least(self) -> int:
        """Surrogates whose Sharpe ratio is >= the real one."""
        return sum(1 for s in self.sharpes if s >= self.real_sharpe)

    @property
    def fraction(self) -> float:
        return self.n_at_least / self.n if self.n else math.nan

    @property
    def p_value(self) -> float:
        """(1 + k) / (1 + N): the Monte Carlo p-value, never 0 with finitely many surrogates
        (Phipson & Smyth, "Permutation p-values should never be zero", 2010)."""
        return (1 + self.n_at_least) / (1 + self.n) if self.n else math.nan

    @property
    def passed(self) -> bool:
        return self.n > 0 and self.p_value <= P_VALUE_LEVEL

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self), "n_at_least": self.n_at_least, "fraction": self.fraction,
            "p_value": self.p_value, "passed": self.passed,
        }


def surrogate_test(
    df: pd.DataFrame,
    artifact: Artifact,
    strategy_params: dict[str, Any],
    broker: BrokerConfig,
    trade_start: pd.Timestamp,
    real_sharpe: float,
    periods_per_year: float,
    method: str = "block",
    n: int = 20,
    seed: int = 0,
    block_len: float = 5.0,
    progress: Callable[[int], None] | None = None,
) -> SurrogateResult:
    """Trade the same model on ``n`` surrogates of the traded stretch of ``df`` and collect
    their Sharpe ratios. Surrogate k uses its own child seed of ``seed``: reproducible, and the
    same surrogates whatever ``n``."""
    first = max(1, int(np.searchsorted(df.index, trade_start)))
    sharpes = []
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        surrogate = make_surrogate(df, first, method, np.random.default_rng(child), block_len)
        result = run_cerebro(surrogate, artifact, strategy_params, broker, trade_start=trade_start)
        sharpes.append(annualised_sharpe(result.returns["strategy"], periods_per_year))
        logger.debug("surrogate %d (%s): Sharpe %.3f", k + 1, method, sharpes[-1])
        if progress is not None:
            progress(k + 1)
    return SurrogateResult(
        method, n, seed, block_len if method == "block" else None, sharpes, real_sharpe
    )


# -- verdict ------------------------------------------------------------------------------------


def verdict(causality: CausalityResult, overlap: OverlapResult, summary: BacktestSummary,
            surrogates: SurrogateResult | None) -> str:
    """One sentence a user can act on; the first failed precondition wins."""
    if not causality.passed:
        return "LOOK-AHEAD: the signal depends on future bars; every result here is invalid"
    if not overlap.passed:
        return ("IN-SAMPLE: the traded range overlaps the model's training range; audit bars "
                f"after {overlap.trained_end} (a later start) for evidence of an edge")
    if summary.n_trades == 0:
        return ("NO TRADES: the model never reached the entry threshold in the traded range; "
                "there is no edge to test")
    if surrogates is None or surrogates.n < MIN_SURROGATES:
        n = 0 if surrogates is None else surrogates.n
        return (f"NOT TESTED: {n} surrogates cannot give p <= {P_VALUE_LEVEL}; trade "
                f"{MIN_SURROGATES} or more surrogates to test the edge against noise")
    if summary.sharpe > 0 and surrogates.passed and summary.psr_passed:
        return "EDGE: the out-of-sample Sharpe ratio is unlikely to be noise"
    return "NO EVIDENCE OF AN EDGE: the result is consistent with noise"
