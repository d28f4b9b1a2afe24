"""What ``bt-lstm backtest`` prints: its plan line before the work, then the results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.errors import translate
from bt_attention_lstm.runners.cli.summary_text import final_summary, print_summary

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.runners.research.backtest import BacktestPlan, BacktestResult

# Seconds per bar of a runonce backtest on two CPU cores (4000 bars: ~0.6 s for the backtest,
# ~0.1 s for the rules), and for the imports, the chart and the tear sheet at any length (the
# cached default run takes ~8 s, ~5 s with --no-html).
SECONDS_PER_BAR = 0.0003
REPORT_SECONDS = 7.0
BAR_WORDS = {"1d": "daily", "1w": "weekly", "1h": "hourly", "4h": "4-hour", "1min": "1-minute"}


def describe_data(df: pd.DataFrame) -> str:
    """What the bars are, for a sentence: "the built-in synthetic market", "orcl.txt", ..."""
    if df.attrs.get("format") == "synthetic":
        return "the built-in synthetic market"
    if df.attrs.get("symbol"):
        return str(df.attrs["symbol"])
    return Path(str(df.attrs.get("source", "data"))).name


def bar_word(df: pd.DataFrame) -> str:
    """"daily", "hourly", "5-minute", ...: the bars' size as an adjective."""
    from bt_attention_lstm.models.data import infer_timeframe

    size = infer_timeframe(df.index)
    return BAR_WORDS.get(size, size.replace("min", "-minute"))


def plan_line(prep: BacktestPlan) -> str:
    """One line: the data, the model (given, cached or trained now), the bars traded, and
    about how long it all takes."""
    from bt_attention_lstm.models.training.progress import rough_duration

    df, traded, data = prep.df, prep.traded_bars, describe_data(prep.df)
    took = rough_duration(SECONDS_PER_BAR * len(df) + REPORT_SECONDS)
    trade = f"the last {traded} bars, from {prep.first_traded} on, out of sample"
    if prep.default_plan is None:
        assert prep.artifact is not None
        return (
            f"plan: backtest the model at {prep.artifact.path} on {data}: {traded} of "
            f"{len(df)} {bar_word(df)} bars, from {prep.first_traded} on (the earlier ones "
            f"warm it up); {took}"
        )
    plan = prep.default_plan
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


def print_backtest(result: BacktestResult, commission: float) -> None:
    """Everything after the work: the default model used, the summary table, why no trade was
    made, the model beside the simple rules, and the last lines."""
    from bt_attention_lstm.reports.rule_table import format_scores

    if result.default_model:
        print(f"default model: {'cached' if result.cached else 'trained'} on bars before "
              f"{result.start.date()} ({result.artifact.path})")
    print_summary(result.metrics)
    if result.no_trade_reason:
        print(translate(result.no_trade_reason))
    print(
        f"\nthe model's position beside the simple rules on the same bars ({result.start.date()} "
        f"on), vol-targeted, after {commission * 1e4:g} bps a unit of weight traded:"
    )
    print(format_scores(result.symbol, result.comparison.portfolio.scores))
    print(result.comparison.verdict)
    print("\n".join(final_summary(result.metrics, result.out)))
