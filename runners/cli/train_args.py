"""``bt-lstm train``'s flags, and the TrainRunConfig they describe."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    prog,
)
from bt_attention_lstm.runners.cli.outputs import out_help
from bt_attention_lstm.runners.cli.training_args import add_training_args, configs_from_args

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.training import TrainRunConfig


def build_parser(description: str) -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=prog("train"),
        description=description,
        epilog="Several symbols: repeat --data, or give a folder (--data DIR: every csv, txt and "
        "parquet file in it). One model is trained on all of them; each symbol's features are "
        "computed in its own worker process and no training window spans two symbols.",
    )
    add_data_args(
        p,
        multiple=True,
        start_help="first date to train on",
        end_help="last date to train on, inclusive (keep later bars for an out-of-sample "
        "backtest)",
    )
    add_training_args(p)
    add_common_args(p, device_help="training")
    o = p.add_argument_group("output")
    o.add_argument(
        "--out", metavar="DIR",
        help=out_help("the artifact (model.safetensors + meta.json)", "train"),
    )
    o.add_argument(
        "--force", action="store_true", help="replace an existing artifact in --out"
    )
    return p


def train_run_config(args: argparse.Namespace, out: Path | None = None) -> TrainRunConfig:
    """The TrainRunConfig of the parsed flags; ``out``: the checked --out (or run folder)."""
    from bt_attention_lstm.models.features.spec import FeatureSpec
    from bt_attention_lstm.runners.research.training import TrainRunConfig

    model_config, config = configs_from_args(args, FeatureSpec().n_features)
    return TrainRunConfig(
        model=model_config, training=config, data=args.data, format=args.format,
        symbol=args.symbol, start=args.start, end=args.end, timeframe=args.timeframe,
        allow_timeframe_mismatch=args.allow_timeframe_mismatch, out=out or args.out,
        force=args.force,
        progress=not args.quiet,
    )
