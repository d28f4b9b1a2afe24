"""Backtest an AttentionLSTM with backtrader and write a quantstats tear sheet, metrics.json,
returns.csv, trades.csv and chart.png.

    python runners/backtest.py                       # synthetic market, default model
    python runners/backtest.py --data prices.csv --model DIR --start 2010-01-01

Without --out, the report goes to a new folder under $XDG_DATA_HOME/bt-attention-lstm/runs
(~/.local/share/...), printed before the work starts.
"""

from __future__ import annotations

import argparse

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    check_date_range,
    logging_from_args,
    prepare_out_dir,
    prog,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("backtest"), description=__doc__.split("\n\n")[0])
    add_data_args(
        p,
        start_help="first date to trade; earlier bars only warm features and the model up",
        end_help="last date to trade, inclusive",
    )
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
        help="without --model: share of the data the default model trains on; the rest is "
        "traded",
    )
    add_broker_args(p)
    add_strategy_args(p)
    add_common_args(p, device_help="the default model's training (without --model) and inference")
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
    add_out_arg(r, "the report", "backtest")
    r.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    return p


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    # every flag, the data and the model are checked before any work is done
    check_date_range(args)
    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)
    out = prepare_out_dir(args.out, command="backtest")
    from bt_attention_lstm.reports.rule_table import format_scores
    from bt_attention_lstm.runners.research import backtest as work
    from bt_attention_lstm.runners.research.reporting import (
        final_summary,
        no_trade_reason,
        print_summary,
    )

    prep = work.prepare(args)
    announce(out)
    if not args.quiet:
        print(work.plan_line(prep), flush=True)
    artifact, cached = work.obtain_model(prep, args.device, progress=not args.quiet)
    if prep.plan is not None:
        print(f"default model: {'cached' if cached else 'trained'} on bars before "
              f"{prep.start.date()} ({artifact.path})")
    done = work.run_and_report(prep, out, params, broker, args, progress=not args.quiet)
    print_summary(done.metrics)
    reason = no_trade_reason(done.result, artifact, done.threshold, args.allow_short)
    if reason:
        print(reason)
    print(
        f"\nthe model's position beside the simple rules on the same bars ({prep.start.date()} "
        f"on), vol-targeted, after {broker.commission * 1e4:g} bps a unit of weight traded:"
    )
    print(format_scores(work.symbol_of(prep.df), done.comparison.portfolio.scores))
    print(done.comparison.verdict)
    print("\n".join(final_summary(done.metrics, done.path)))
    return 0


if __name__ == "__main__":
    run_main(main)
