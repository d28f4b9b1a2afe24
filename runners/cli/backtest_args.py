"""``bt-lstm backtest``'s flags, and the BacktestConfig they describe."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    prog,
)
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.backtest import BacktestConfig


def build_parser(description: str) -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("backtest"), description=description)
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


def backtest_config(args: argparse.Namespace) -> BacktestConfig:
    """The BacktestConfig of the parsed flags; the broker and strategy flags are checked here."""
    from bt_attention_lstm.runners.research.backtest import BacktestConfig

    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)  # the bars' own periods per year replace it
    return BacktestConfig(
        data=args.data, format=args.format, symbol=args.symbol, start=args.start, end=args.end,
        timeframe=args.timeframe, model=args.model, train_fraction=args.train_fraction,
        allow_timeframe_mismatch=args.allow_timeframe_mismatch, broker=broker,
        strategy_params=params, device=args.device, runonce=not args.no_runonce,
        preload=not args.no_preload, html=not args.no_html, out=args.out,
        progress=not args.quiet,
    )
