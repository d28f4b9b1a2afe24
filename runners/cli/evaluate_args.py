"""Does the model earn its place on my data? Train the default model on the first part of each
data set (several seeds), then compare it with baselines on what it never saw.

For each data set it prints:

1. the nested cross-validation table on the training part: the AttentionLSTM against the class
   prior, a logistic regression and gradient boosting on the same folds (mean ± sd over seeds);
2. the out-of-sample log-loss of the model against the training prior's;
3. out-of-sample trading after the training part, with the same broker and costs: the strategy
   (backtest.py's flags) against buy-and-hold, an SMA(20/50) long-only crossover and long-only
   time-series momentum (252-bar return > 0, volatility-scaled). Each row gives the annualised
   Sharpe with its standard error, PSR (probability that the true Sharpe > 0) and total return.

--data takes files or the built-in synthetic markets by name: synthetic:default
(synthetic_market(4000, seed=7)), synthetic:planted (planted_edge_market(3000, seed=5)),
synthetic:random-walk:SEED (random_walk_market(4000, SEED)). Trained models are cached like
backtest.py's default model; seed 1 of synthetic:default is the model backtest.py trades.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.runners.cli.common import FORMATS, OneLineParser, add_common_args, prog
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.evaluation import EvaluateConfig


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    p = OneLineParser(
        prog=prog("evaluate"),
        description=doc.split("\n\n")[0],
        epilog=doc[doc.index("For each data set"):],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    d = p.add_argument_group("data")
    d.add_argument("--data", action="append", required=True, metavar="D",
                   help="OHLCV file or synthetic:default|planted|random-walk:SEED; repeatable")
    d.add_argument("--format", default="auto", choices=FORMATS, help="how to read files")
    e = p.add_argument_group("evaluation")
    e.add_argument("--train-fraction", type=float, default=0.6,
                   help="share of each data set the model trains on (default: %(default)s)")
    e.add_argument("--seeds", type=int, default=3,
                   help="training seeds per data set (default: %(default)s)")
    e.add_argument("--ensemble", type=int, default=None, metavar="K",
                   help="members of the model, their positions averaged (default: the default "
                   "model's, runners/research/default_model.py)")
    e.add_argument("--json", metavar="FILE", help="also write every figure as JSON to FILE "
                   "(nothing else is written; trained models go to the model cache, "
                   "$XDG_CACHE_HOME/bt-attention-lstm)")
    add_broker_args(p, cash_help="starting cash of each out-of-sample backtest")
    add_strategy_args(p)
    add_common_args(p, device_help="training and inference")
    return p


def config_from_args(args: argparse.Namespace) -> EvaluateConfig:
    """The library's config for parsed flags (broker and strategy flags checked here)."""
    from bt_attention_lstm.runners.research.default_model import DEFAULT_TRAIN_CONFIG
    from bt_attention_lstm.runners.research.evaluation import EvaluateConfig

    train_config = None  # the default model's
    if args.ensemble is not None:
        if args.ensemble < 1:
            raise ConfigError(f"--ensemble must be a positive integer, got {args.ensemble}")
        train_config = dataclasses.replace(DEFAULT_TRAIN_CONFIG, device=args.device,
                                           ensemble=args.ensemble)
    return EvaluateConfig(
        data=args.data,
        format=args.format,
        train_fraction=args.train_fraction,
        seeds=args.seeds,
        broker=broker_from_args(args),
        # periods_per_year and device are the evaluation's own per data set
        strategy_params=strategy_params(args, 252.0),
        device=args.device,
        train_config=train_config,
        json_path=Path(args.json) if args.json else None,
        command=" ".join(["runners/evaluate.py", *sys.argv[1:]]),
        progress=not args.quiet,
    )
