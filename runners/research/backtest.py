"""The backtest command's work between parsed flags and printed results.

``prepare`` loads the bars and the model (or plans the default one: cached or trained now) and
checks everything before any work; ``plan_line`` says in one line what will happen and about how
long; ``obtain_model`` trains or loads the default model; ``run_and_report`` backtests, scores
the model beside the simple rules and writes the report.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe, select_range
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.progress import rough_duration
from bt_attention_lstm.reports.rule_comparison import RuleComparison
from bt_attention_lstm.runners.cli.common import (
    check_bar_size,
    check_data_kind,
    load_frames,
    require_bars,
)
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, CerebroRun, run_cerebro
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_MODEL_SIZES,
    DefaultModelPlan,
    default_model,
    default_model_plan,
)
from bt_attention_lstm.runners.research.evaluation.beside_rules import model_beside_rules
from bt_attention_lstm.runners.research.reporting import build_metrics, write_report
from bt_attention_lstm.strategies.attention_lstm import entry_threshold

logger = logging.getLogger(__name__)

# Seconds per bar of a runonce backtest on two CPU cores (4000 bars: ~0.6 s for the backtest,
# ~0.1 s for the rules), and for the imports, the chart and the tear sheet at any length (the
# cached default run takes ~8 s, ~5 s with --no-html).
SECONDS_PER_BAR = 0.0003
REPORT_SECONDS = 7.0


@dataclass
class Prepared:
    """The bars and the model of one backtest, checked; ``artifact`` is None while the default
    model is only planned (``plan``)."""

    df: pd.DataFrame
    artifact: Artifact | None
    plan: DefaultModelPlan | None
    start: pd.Timestamp  # first traded bar
    train_fraction: float

    @property
    def traded_bars(self) -> int:
        return int((self.df.index >= self.start).sum())

    @property
    def first_traded(self) -> str:
        """The first traded bar's date (or time, intraday)."""
        first = self.df.index[self.df.index >= self.start][0]
        return str(first.date()) if first == first.normalize() else str(first)


def describe_data(df: pd.DataFrame) -> str:
    """What the bars are, for a sentence: "the built-in synthetic market", "orcl.txt", ..."""
    if df.attrs.get("format") == "synthetic":
        return "the built-in synthetic market"
    if df.attrs.get("symbol"):
        return str(df.attrs["symbol"])
    return Path(str(df.attrs.get("source", "data"))).name


def symbol_of(df: pd.DataFrame) -> str:
    return str(df.attrs.get("symbol") or Path(str(df.attrs.get("source", "data"))).stem)


def prepare(args: argparse.Namespace) -> Prepared:
    """Load the bars (keeping those before --start: they warm features and the model up
    without being traded) and the model, or plan the default one; every check that can fail
    on bad input runs here, before anything is written."""
    trade_from, args.start = args.start, None
    df = load_frames(args)[0]
    args.start = trade_from
    if trade_from:
        select_range(df, trade_from, None)  # fails clearly when nothing is left to trade
    if args.model:
        artifact = load_artifact(args.model)
        check_bar_size(artifact.meta, df, args.allow_timeframe_mismatch)
        check_data_kind(artifact, df)
        start = pd.Timestamp(trade_from) if trade_from else df.index[0]
        needed = warmup_bars(artifact.feature_spec) + artifact.seq_len + 1
        df = require_bars(df, needed, "feature warm-up + sequence length + bars to trade")
        return Prepared(df, artifact, None, start, args.train_fraction)
    needed = warmup_bars() + int(DEFAULT_MODEL_SIZES["seq_len"]) + 1
    df = require_bars(df, needed, "feature warm-up + sequence length + bars to trade")
    plan = default_model_plan(df, args.train_fraction, args.device)
    start = max(plan.oos_start, pd.Timestamp(trade_from)) if trade_from else plan.oos_start
    return Prepared(df, None, plan, start, args.train_fraction)


BAR_WORDS = {"1d": "daily", "1w": "weekly", "1h": "hourly", "4h": "4-hour", "1min": "1-minute"}


def bar_word(df: pd.DataFrame) -> str:
    """"daily", "hourly", "5-minute", ...: the bars' size as an adjective."""
    size = infer_timeframe(df.index)
    return BAR_WORDS.get(size, size.replace("min", "-minute"))


def plan_line(prep: Prepared) -> str:
    """One line: the data, the model (given, cached or trained now), the bars traded, and
    about how long it all takes."""
    df, traded, data = prep.df, prep.traded_bars, describe_data(prep.df)
    took = rough_duration(SECONDS_PER_BAR * len(df) + REPORT_SECONDS)
    trade = f"the last {traded} bars, from {prep.first_traded} on, out of sample"
    if prep.plan is None:
        assert prep.artifact is not None
        return (
            f"plan: backtest the model at {prep.artifact.path} on {data}: {traded} of "
            f"{len(df)} {bar_word(df)} bars, from {prep.first_traded} on (the earlier ones "
            f"warm it up); {took}"
        )
    plan = prep.plan
    share = (
        f"the first {prep.train_fraction:.0%} of {data} ({plan.train_bars} of {len(df)} "
        f"{bar_word(df)} bars"
    )
    if plan.cached:
        return (
            f"plan: backtest the default model (cached at {plan.path}, trained on {share}) on "
            f"{trade}; {took}"
        )
    return (
        f"plan: no --model given: train a small model on {share}; "
        f"{rough_duration(plan.seconds)}, then cached at {plan.path}), then backtest it on "
        f"{trade} ({took})"
    )


def obtain_model(prep: Prepared, device: str, progress: bool) -> tuple[Artifact, bool]:
    """The model to trade: the one given, or the default one (trained now, or cached).
    Returns (artifact, whether it came from the cache)."""
    if prep.artifact is not None:
        return prep.artifact, True
    artifact, _, cached = default_model(prep.df, prep.train_fraction, device, progress)
    prep.artifact = artifact
    return artifact, cached


@dataclass
class Outcome:
    result: CerebroRun
    metrics: dict[str, Any]
    comparison: RuleComparison
    threshold: float
    path: Path


def run_and_report(
    prep: Prepared,
    out: Path,
    params: dict[str, Any],
    broker: BrokerConfig,
    args: argparse.Namespace,
    progress: bool,
) -> Outcome:
    """The backtest (one bar over the traded bars), the model beside the simple rules on the
    same bars and costs, and the report written atomically into ``out``."""
    df, artifact, start = prep.df, prep.artifact, prep.start
    assert artifact is not None, "obtain_model first"
    periods_per_year = infer_periods_per_year(df.index)
    with tqdm(total=prep.traded_bars, desc="backtest", unit="bar", disable=not progress) as bar:
        result = run_cerebro(
            df, artifact, {**params, "periods_per_year": periods_per_year}, broker,
            trade_start=start,
            runonce=not (args.no_runonce or args.no_preload), preload=not args.no_preload,
        )
        bar.update(prep.traded_bars)
    metrics = build_metrics(result, artifact, periods_per_year, infer_timeframe(df.index))
    comparison = model_beside_rules(
        {symbol_of(df): df}, artifact, start, allow_short=args.allow_short,
        cost=broker.commission, periods_per_year=periods_per_year,
        target_vol=params.get("target_vol", 0.15),
    )
    metrics["rules"] = comparison.to_dict()
    if metrics["in_sample"]:
        logger.warning(
            "the backtest range overlaps the model's training range (%s .. %s): these results "
            "are IN-SAMPLE and overstate what the model can do",
            *artifact.trained_range,
        )
    title = (
        f"AttentionLSTM on {Path(str(df.attrs.get('source', 'data'))).name} "
        f"{metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    threshold = entry_threshold(artifact, args.threshold, args.sizing)
    path = write_report(out, result, metrics, threshold, periods_per_year, title,
                        html=not args.no_html,
                        comparison=comparison)
    return Outcome(result, metrics, comparison, threshold, path)
