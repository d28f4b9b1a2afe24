"""Model and optimisation flags shared by train, walk-forward and sweep (torch-free)."""

from __future__ import annotations

import argparse
from collections.abc import Collection
from typing import Any

from bt_attention_lstm.models.config import CALIBRATIONS, OBJECTIVES, ModelConfig, TrainConfig

HELP_BATCH = "training windows per optimiser step"


def add_training_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    skip: Collection[str] = (),
    per_fold: bool = False,
) -> None:
    """The model and optimisation flags (read back by ``configs_from_args``); flags whose dest
    is in ``skip`` are left out (a sweep searches them instead). ``per_fold``: every
    walk-forward fold trains a model with them (walkforward, sweep), and --folds says which
    folds it means."""
    d = TrainConfig()
    m = ModelConfig(n_features=1)

    def add(flag: str, **kw: Any) -> None:
        if flag.lstrip("-").replace("-", "_") not in skip:
            p.add_argument(flag, **kw)

    add(
        "--objective",
        choices=OBJECTIVES,
        default=d.objective,
        help="sharpe: a position head trained on the Sharpe ratio of its vol-scaled returns "
        "after --cost-bps (the default); classify: the down / flat / up classifier over "
        "--horizon bars",
    )
    add(
        "--cost-bps",
        type=float,
        default=d.cost_bps,
        help="cost per unit of weight traded, in basis points, that the Sharpe objective and "
        "its validation charge (default: %(default)s)",
    )
    add(
        "--target-vol",
        type=float,
        default=d.target_vol,
        help="annualised volatility target the Sharpe objective scales positions to "
        "(default: %(default)s)",
    )
    add(
        "--epochs",
        type=int,
        default=d.epochs,
        help="most epochs a fit may run; early stopping on an inner validation slice "
        "usually stops sooner",
    )
    add("--batch-size", type=int, default=d.batch_size, help=HELP_BATCH)
    add("--lr", type=float, default=d.lr, help="AdamW learning rate")
    add(
        "--patience",
        type=int,
        default=d.patience,
        help="epochs without validation improvement before stopping",
    )
    add(
        "--folds",
        type=int,
        default=d.folds,
        help=(
            "time-series cross-validation folds inside each walk-forward fold's training "
            "window (they choose its epochs)"
            if per_fold
            else "outer time-series cross-validation folds reported beside the baselines"
        ),
    )
    add(
        "--horizon",
        type=int,
        default=d.horizon,
        help="bars ahead the label looks (down / flat / up over this many bars); also the "
        "gap left between training and validation",
    )
    add(
        "--flat-band",
        type=float,
        default=d.flat_band,
        help="flat band in units of trailing volatility x sqrt(horizon)",
    )
    add(
        "--seq-len",
        type=int,
        default=m.seq_len,
        help="bars in each window the model reads (the LSTM's sequence length)",
    )
    add("--hidden", type=int, default=m.hidden, help="LSTM hidden units per layer")
    add("--layers", type=int, default=m.layers, help="stacked LSTM layers")
    add("--heads", type=int, default=m.heads, help="self-attention heads (must divide --hidden)")
    add(
        "--dropout",
        type=float,
        default=m.dropout,
        help="dropout rate between LSTM layers and in attention",
    )
    add(
        "--ensemble",
        type=int,
        default=d.ensemble,
        metavar="K",
        help="members trained with different seeds whose probabilities are averaged inside one "
        "artifact; they pass the calibration gate together; training costs ~K times more, "
        "inference runs them stacked as one network",
    )
    add(
        "--inner-fraction",
        type=float,
        default=d.inner_fraction,
        help="latest share of each training fold that chooses the epoch (early stopping) and "
        "the calibration",
    )
    add(
        "--calibration",
        choices=CALIBRATIONS,
        default=d.calibration,
        help="vector: scaling chosen on the inner slices, or the class prior when the model "
        "cannot beat it there; none: the raw network (research; it may trade noise)",
    )
    add(
        "--seed",
        type=int,
        default=d.seed,
        help="random seed for weights and batch order (same data and seed on CPU give "
        "identical weights)",
    )


def configs_from_args(
    args: argparse.Namespace, n_features: int, **extra: Any
) -> tuple[ModelConfig, TrainConfig]:
    model_config = ModelConfig(
        n_features=n_features,
        hidden=args.hidden,
        layers=args.layers,
        heads=args.heads,
        dropout=args.dropout,
        seq_len=args.seq_len,
    )
    return model_config, train_config_from_args(args, **extra)


# TrainConfig fields that add_training_args offers as flags (a sweep searches lr instead)
TRAIN_FLAGS = (
    "ensemble", "inner_fraction", "calibration", "epochs", "batch_size", "lr", "patience",
    "folds", "horizon", "flat_band", "seed", "device", "objective", "cost_bps", "target_vol",
)


def train_config_from_args(args: argparse.Namespace, **extra: Any) -> TrainConfig:
    """The TrainConfig of the parsed flags; a flag the parser does not offer keeps its default."""
    defaults = TrainConfig()
    values = {name: getattr(args, name, getattr(defaults, name)) for name in TRAIN_FLAGS}
    return TrainConfig(**{**values, **extra})
