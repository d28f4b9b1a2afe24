"""Command-line groups shared by walkforward.py and sweep.py (folds, engine), the data flags as
a research config's fields, and ``bt-lstm walkforward``'s parser and config.

Light on purpose: the heavy imports wait until the arguments are parsed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bt_attention_lstm.runners.research.engines import ENGINE_CHOICES

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.walkforward import WalkForwardConfig


def add_fold_args(
    p: argparse.ArgumentParser, train_bars: int | None = None, test_bars: int | None = None
) -> None:
    """--train-bars/--test-bars (required unless defaults are given), --step, --expanding."""
    g = p.add_argument_group("walk-forward folds")
    g.add_argument(
        "--train-bars",
        type=int,
        required=train_bars is None,
        default=train_bars,
        metavar="N",
        help="bars each fold trains on (the first N with --expanding)"
        + (" (default: %(default)s)" if train_bars else ""),
    )
    g.add_argument(
        "--test-bars",
        type=int,
        required=test_bars is None,
        default=test_bars,
        metavar="M",
        help="bars each fold trades, out of sample"
        + (" (default: %(default)s)" if test_bars else ""),
    )
    g.add_argument(
        "--step",
        type=int,
        metavar="S",
        help="bars between test windows (default: --test-bars, back to back; must be >= it)",
    )
    g.add_argument(
        "--expanding",
        action="store_true",
        help="train every fold on all bars from the start (default: a rolling window of N)",
    )


def add_engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="local",
        help="local: a process pool on this machine; ray: a local Ray with this machine's cores, "
        "or the cluster at --address (pip install -e \".[distributed]\") (default: %(default)s)",
    )
    g.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster to join: auto, HOST:PORT or ray://HOST:PORT (default: start one)",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="K",
        help="jobs running at once (default: every core / every CPU of the Ray cluster)",
    )


def data_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The data flags as a research config's fields."""
    return {
        "data": args.data,
        "format": args.format,
        "symbol": args.symbol,
        "start": args.start,
        "end": args.end,
        "timeframe": args.timeframe,
    }


def engine_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {"engine": args.engine, "address": args.address, "workers": args.workers}


def fold_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "train_bars": args.train_bars,
        "test_bars": args.test_bars,
        "step": args.step,
        "expanding": args.expanding,
    }


WALKFORWARD_DESCRIPTION = (
    "Walk-forward retraining: train on a window, trade the next bars out of sample, roll forward."
)


def build_parser() -> argparse.ArgumentParser:
    """``bt-lstm walkforward``'s flags."""
    from bt_attention_lstm.runners.cli.common import (
        OneLineParser,
        add_common_args,
        add_data_args,
        add_out_arg,
        prog,
    )
    from bt_attention_lstm.runners.cli.trading_args import add_broker_args, add_strategy_args
    from bt_attention_lstm.runners.cli.training_args import add_training_args

    p = OneLineParser(prog=prog("walkforward"), description=WALKFORWARD_DESCRIPTION)
    add_data_args(
        p,
        timeframe_check=False,
        start_help="first date of the bars the folds are cut from",
        end_help="last date of the bars the folds are cut from, inclusive",
    )
    add_fold_args(p)
    add_engine_args(p)
    t = p.add_argument_group("training (every fold, as runners/train.py)")
    # the strategy's --target-vol serves both
    add_training_args(t, skip=("target_vol",), per_fold=True)
    add_broker_args(
        p, cash_help="starting cash of each walk-forward fold (each starts flat with fresh cash)"
    )
    add_strategy_args(p, trains_too=True)
    add_common_args(p, device_help="training and inference")
    r = p.add_argument_group("output")
    add_out_arg(r, "the walk-forward report", "walkforward")
    r.add_argument(
        "--keep-models", action="store_true", help="keep each fold's model under DIR/models/"
    )
    r.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    return p


def walkforward_config(args: argparse.Namespace, out: Path) -> WalkForwardConfig:
    """The parsed flags as the library's config (``out``: the checked run folder)."""
    from bt_attention_lstm.models.features.spec import FeatureSpec
    from bt_attention_lstm.runners.cli.trading_args import broker_from_args, strategy_params
    from bt_attention_lstm.runners.cli.training_args import configs_from_args
    from bt_attention_lstm.runners.research.walkforward import WalkForwardConfig

    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)  # the library sets the data's periods per year
    model, training = configs_from_args(args, FeatureSpec().n_features)
    return WalkForwardConfig(
        **data_fields(args), **fold_fields(args), **engine_fields(args),
        model=model, training=training, strategy_params=params, broker=broker, out=out,
        keep_models=args.keep_models, html=not args.no_html, progress=not args.quiet,
    )
