"""Backtest an AttentionLSTM with backtrader and write a quantstats tear sheet, metrics.json,
returns.csv, trades.csv and chart.png.

    python runners/backtest.py                       # synthetic market, default model
    python runners/backtest.py --data prices.csv --model models/output/attention-lstm
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    check_bar_size,
    check_date_range,
    load_frames,
    logging_from_args,
    prepare_out_dir,
    require_bars,
    run_main,
)
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.models.artifact import Artifact

logger = logging.getLogger("backtest")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="backtest.py", description=__doc__.split("\n\n")[0])
    add_data_args(p)
    p.add_argument(
        "--model",
        metavar="DIR",
        help="artifact directory from train.py (default: train a small model on the "
        "first --train-fraction of the data, cached, and backtest the rest)",
    )
    p.add_argument(
        "--train-fraction",
        type=float,
        default=0.6,
        help="share of the data the default model trains on; the rest is traded",
    )
    add_broker_args(p)
    add_strategy_args(p)
    add_common_args(p)
    r = p.add_argument_group("backtest")
    r.add_argument(
        "--no-runonce",
        action="store_true",
        help="per-bar (next mode) inference instead of batched runonce",
    )
    r.add_argument(
        "--no-preload",
        action="store_true",
        help="feed bars one at a time as a live feed would (implies --no-runonce)",
    )
    add_out_arg(r, "the report", None)
    r.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    return p


def choose_model(args: argparse.Namespace, df: pd.DataFrame) -> tuple[Artifact, pd.Timestamp]:
    """The artifact and the first bar to trade."""
    import pandas as pd

    from bt_attention_lstm.models.artifact import load_artifact
    from bt_attention_lstm.runners.workflows.training.default_model import default_model

    if args.model:
        artifact = load_artifact(args.model)
        start = pd.Timestamp(args.start) if args.start else df.index[0]
        return artifact, start
    artifact, oos_start, cached = default_model(
        df, args.train_fraction, args.device, not args.quiet
    )
    print(
        f"default model: {'cached' if cached else 'trained'} on bars before "
        f"{oos_start.date()} ({artifact.path})"
    )
    start = max(oos_start, pd.Timestamp(args.start)) if args.start else oos_start
    return artifact, start


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    # every flag is checked before any work is done
    check_date_range(args)
    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)
    out = prepare_out_dir(args.out)
    from bt_attention_lstm.indicators.features import warmup_bars
    from bt_attention_lstm.models.data import infer_timeframe, periods_per_year, select_range
    from bt_attention_lstm.reports.rule_table import format_scores
    from bt_attention_lstm.runners.workflows.evaluation.beside_rules import model_beside_rules
    from bt_attention_lstm.runners.workflows.reporting import (
        build_metrics,
        no_trade_reason,
        print_summary,
        write_report,
    )
    from bt_attention_lstm.strategies.attention_lstm import entry_threshold
    from bt_attention_lstm.strategies.engine import run_backtest

    # Keep the bars before --start: they warm features and model up without being traded.
    trade_from, args.start = args.start, None
    df = load_frames(args)[0]
    args.start = trade_from
    if trade_from:
        select_range(df, trade_from, None)  # fails clearly when nothing is left to trade
    artifact, start = choose_model(args, df)
    check_bar_size(artifact.meta, df, args.allow_timeframe_mismatch)
    needed = warmup_bars(artifact.feature_spec) + artifact.seq_len + 1
    df = require_bars(df, needed, "feature warm-up + sequence length + bars to trade")
    ppy = periods_per_year(df.index)
    result = run_backtest(
        df,
        artifact,
        {**params, "periods_per_year": ppy},
        broker,
        trade_start=start,
        runonce=not (args.no_runonce or args.no_preload),
        preload=not args.no_preload,
    )
    metrics = build_metrics(result, artifact, ppy, infer_timeframe(df.index))
    symbol = str(df.attrs.get("symbol") or Path(str(df.attrs.get("source", "data"))).stem)
    comparison = model_beside_rules(
        {symbol: df}, artifact, start, allow_short=args.allow_short, cost=broker.commission,
        periods_per_year=ppy, target_vol=params.get("target_vol", 0.15),
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
    path = write_report(out, result, metrics, threshold, ppy, title, html=not args.no_html)
    print_summary(metrics)
    reason = no_trade_reason(result, artifact, threshold, args.allow_short)
    if reason:
        print(reason)
    print(
        f"\nthe model's position beside the simple rules on the same bars ({start.date()} on), "
        f"vol-targeted, after {broker.commission * 1e4:g} bps a unit of weight traded:"
    )
    print(format_scores(symbol, comparison.portfolio.scores))
    print(comparison.verdict)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
