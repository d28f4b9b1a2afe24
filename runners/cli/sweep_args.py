"""``bt-lstm sweep``'s parser, and its flags as the library's ``SweepConfig``.

Light on purpose: the heavy imports wait until the arguments are parsed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from bt_attention_lstm.runners.cli.training_args import add_training_args, train_config_from_args
from bt_attention_lstm.runners.cli.walkforward_args import (
    add_engine_args,
    add_fold_args,
    data_fields,
    engine_fields,
    fold_fields,
)
from bt_attention_lstm.runners.research.sweep.space import DEFAULT_SPACE, PARAMS, describe

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.sweep import SweepConfig

SWEEP_DESCRIPTION = (
    "Hyperparameter sweep scored by walk-forward out-of-sample Sharpe ratio (never in-sample)."
)
DEFAULT_TRIALS = 20
SEARCHED = ("lr", "seq_len", "hidden", "layers", "heads", "dropout")  # flags the space replaces


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=prog("sweep"),
        description=SWEEP_DESCRIPTION,
        epilog=f"Default search space: {describe(DEFAULT_SPACE)} (heads are drawn among those "
        'that divide hidden). --space FILE.json replaces entries: {"hidden": [16, 32]} is a '
        'choice, {"dropout": {"uniform": [0, 0.3]}} or {"lr": {"loguniform": [1e-4, 1e-2]}} a '
        'range, {"layers": 1} a fixed value; known keys: ' + ", ".join(PARAMS) + ".",
    )
    add_data_args(
        p,
        timeframe_check=False,
        start_help="first date of the bars the walk-forward folds are cut from",
        end_help="last date of the bars the walk-forward folds are cut from, inclusive",
    )
    s = p.add_argument_group("search")
    s.add_argument("--space", metavar="FILE.json", help="search space (default: see below)")
    s.add_argument(
        "--trials", type=int, default=DEFAULT_TRIALS, metavar="N", help="configurations to try"
    )
    add_fold_args(p, train_bars=1500, test_bars=500)
    add_engine_args(p)
    t = p.add_argument_group("training (fixed across trials)")
    # no --target-vol: every trial trains and trades at the default target (0.15)
    add_training_args(t, skip=(*SEARCHED, "target_vol"), per_fold=True)
    add_broker_args(
        p, cash_help="starting cash of each walk-forward fold of every trial (each starts flat)"
    )
    add_common_args(p, device_help="training and inference")
    add_out_arg(p, "trials.csv and best.json", "sweep")
    return p


def default_strategy(device: str) -> dict[str, Any]:
    """backtest.py's default strategy settings (the threshold is searched)."""
    parser = argparse.ArgumentParser()
    add_strategy_args(parser)
    args = parser.parse_args([])
    args.device = device
    return strategy_params(args, 252.0)  # the library sets the data's periods per year


def read_space(path: str | None) -> dict[str, Any]:
    """--space FILE.json, validated (``load_space``), or the default space."""
    from bt_attention_lstm.runners.research.sweep.space import load_space

    return load_space(path)


def sweep_config(args: argparse.Namespace, out: Path, space: dict[str, Any]) -> SweepConfig:
    """The parsed flags as the library's config (``out``: the checked run folder)."""
    from bt_attention_lstm.runners.research.sweep import SweepConfig

    return SweepConfig(
        **data_fields(args), **fold_fields(args), **engine_fields(args),
        space=space, trials=args.trials, seed=args.seed,
        training=train_config_from_args(args),  # lr: each trial's own
        strategy_params=default_strategy(args.device), broker=broker_from_args(args),
        out=out, progress=not args.quiet,
    )
