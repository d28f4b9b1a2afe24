"""Train an AttentionLSTM offline and write a safe artifact (model.safetensors + meta.json).

python runners/train.py --data tests/data/orcl-1995-2014.txt --end 2009-12-31 --out DIR
python runners/train.py --data A.csv --data B.csv --out DIR     # one model, several symbols
"""

from __future__ import annotations

import argparse
from collections.abc import Collection
from typing import Any

from bt_attention_lstm.models.device import DEVICE_CHOICES
from bt_attention_lstm.models.network import ModelConfig
from bt_attention_lstm.models.training import TrainConfig, TrainingResult
from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_data_args,
    configure_logging,
    load_frames,
    require_bars,
    run_main,
)
from bt_attention_lstm.runners.workflows.training.multi_symbol import (
    expand_data_paths,
    parallel_segments,
)
from bt_attention_lstm.runners.workflows.training.pipeline import min_training_bars, train_and_save

DEFAULT_OUT = "models/output/attention-lstm"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="train.py",
        description=__doc__.split("\n\n")[0],
        epilog="Several symbols: repeat --data, or give a folder (--data DIR: every csv, txt and "
        "parquet file in it). One model is trained on all of them; each symbol's features are "
        "computed in its own worker process and no training window spans two symbols.",
    )
    add_data_args(p, multiple=True)
    p.add_argument(
        "--out", default=DEFAULT_OUT, help=f"artifact directory (default: {DEFAULT_OUT})"
    )
    add_training_args(p)
    return p


def add_training_args(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    skip: Collection[str] = (),
    device: str = "auto",
) -> None:
    """The model and optimisation flags (read back by ``configs_from_args``); flags whose dest
    is in ``skip`` are left out (a sweep searches them instead)."""
    d = TrainConfig()
    m = ModelConfig(n_features=1)

    def add(flag: str, **kw: Any) -> None:
        if flag.lstrip("-").replace("-", "_") not in skip:
            p.add_argument(flag, **kw)

    add("--epochs", type=int, default=d.epochs, help="max epochs per fold (default: %(default)s)")
    add("--batch-size", type=int, default=d.batch_size, help="default: %(default)s")
    add("--lr", type=float, default=d.lr, help="AdamW learning rate (default: %(default)s)")
    add(
        "--patience",
        type=int,
        default=d.patience,
        help="epochs without validation improvement before stopping (default: %(default)s)",
    )
    add("--folds", type=int, default=d.folds, help="time-series CV folds (default: %(default)s)")
    add(
        "--horizon",
        type=int,
        default=d.horizon,
        help="label horizon in bars (default: %(default)s)",
    )
    add(
        "--flat-band",
        type=float,
        default=d.flat_band,
        help="flat band in units of trailing volatility x sqrt(horizon) (default: %(default)s)",
    )
    add("--seq-len", type=int, default=m.seq_len, help="window length (default: %(default)s)")
    add("--hidden", type=int, default=m.hidden, help="LSTM width (default: %(default)s)")
    add("--layers", type=int, default=m.layers, help="LSTM layers (default: %(default)s)")
    add("--heads", type=int, default=m.heads, help="attention heads (default: %(default)s)")
    add("--dropout", type=float, default=m.dropout, help="default: %(default)s")
    add("--seed", type=int, default=d.seed, help="random seed (default: %(default)s)")
    add("--device", default=device, choices=DEVICE_CHOICES, help="default: %(default)s")
    add("--quiet", action="store_true", help="no progress bars")


def configs_from_args(args: argparse.Namespace, n_features: int) -> tuple[ModelConfig, TrainConfig]:
    model_config = ModelConfig(
        n_features=n_features,
        hidden=args.hidden,
        layers=args.layers,
        heads=args.heads,
        dropout=args.dropout,
        seq_len=args.seq_len,
    )
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        folds=args.folds,
        horizon=args.horizon,
        flat_band=args.flat_band,
        seed=args.seed,
        device=args.device,
    )
    return model_config, config


def print_fold_table(result: TrainingResult) -> None:
    print()
    print(
        f"{'fold':>4} {'train':>7} {'val':>6} {'val range':>25} {'epoch':>5} "
        f"{'acc':>6} {'base acc':>8} {'logloss':>8} {'base ll':>8}"
    )
    for f in result.folds:
        print(
            f"{f.fold:>4} {f.train_windows:>7} {f.val_windows:>6} "
            f"{f.val_start + '..' + f.val_end:>25} {f.best_epoch:>5} {f.val_accuracy:>6.3f} "
            f"{f.baseline_accuracy:>8.3f} {f.val_loss:>8.4f} {f.baseline_log_loss:>8.4f}"
        )
    s = result.cv_summary()
    print(
        f"{'mean':>4} {'':>7} {'':>6} {'':>25} {'':>5} {s['mean_val_accuracy']:>6.3f} "
        f"{s['mean_baseline_accuracy']:>8.3f} {s['mean_val_log_loss']:>8.4f} "
        f"{s['mean_baseline_log_loss']:>8.4f}"
    )
    print(f"final model: retrained on the whole range for {result.final_epochs} epoch(s)")


def main() -> int:
    args = build_parser().parse_args()
    configure_logging()
    from bt_attention_lstm.models.feature_spec import FeatureSpec

    model_config, config = configs_from_args(args, FeatureSpec().n_features)
    needed = min_training_bars(model_config, config)
    if args.data:
        args.data = expand_data_paths(args.data)  # a folder means every data file in it
    frames = [
        require_bars(df, needed, "feature warm-up + sequence length + label horizon + CV folds")
        for df in load_frames(args)
    ]
    # Several symbols: one Segment each, computed in worker processes; windows stay inside one.
    segments = parallel_segments(frames, config) if len(frames) > 1 else None
    if segments is not None:
        print(f"training one model on {len(frames)} symbols")
    path, result = train_and_save(
        frames, model_config, config, args.out, progress=not args.quiet, segments=segments
    )
    print_fold_table(result)
    print(f"artifact: {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
