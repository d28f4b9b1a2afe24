"""Train an AttentionLSTM offline and write a safe artifact (model.safetensors + meta.json).

python runners/train.py --data tests/data/orcl-1995-2014.txt --end 2009-12-31 --out DIR
python runners/train.py --data A.csv --data B.csv --out DIR     # one model, several symbols
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    check_date_range,
    check_training_bar_sizes,
    load_frames,
    logging_from_args,
    prepare_out_dir,
    require_bars,
    run_main,
)
from bt_attention_lstm.runners.cli.training_args import add_training_args, configs_from_args

if TYPE_CHECKING:
    from bt_attention_lstm.models.position_training import PositionTrainingResult
    from bt_attention_lstm.models.training import TrainingResult

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
    add_training_args(p)
    add_common_args(p, device_help="training")
    o = p.add_argument_group("output")
    o.add_argument(
        "--out", metavar="DIR", default=DEFAULT_OUT,
        help="artifact directory (model.safetensors + meta.json); it must be new or empty",
    )
    o.add_argument(
        "--force", action="store_true", help="replace an existing artifact in --out"
    )
    return p


def print_fold_table(result: TrainingResult | PositionTrainingResult) -> None:
    """The nested CV table (model and baselines), the WARNING verdict, and the final model."""
    from bt_attention_lstm.runners.workflows.training.cv_report import (
        cv_table_lines,
        warning_lines,
    )

    summary = result.cv_summary()
    print()
    for line in cv_table_lines(summary):
        print(line)
    for line in warning_lines(summary):
        print(line)
    k = len(result.members)
    if summary.get("objective") == "sharpe":
        members = f"{k} members, positions averaged; " if k > 1 else ""
        print(
            f"final model: a position head, {members}trained on every window for "
            f"{result.final_epochs} epoch(s) (median of the inner choices)"
        )
        return
    members = f"{k} members, probabilities averaged; " if k > 1 else ""
    calibration = "/".join(sorted(set(summary["final_calibration"])))
    print(
        f"final model: {members}trained on every window for {result.final_epochs} epoch(s) "
        f"(median of the inner choices); calibration ({calibration}) fitted on the folds' "
        "out-of-fold logits"
    )


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    prepare_out_dir(args.out, force=args.force)
    from bt_attention_lstm.models.feature_spec import FeatureSpec
    from bt_attention_lstm.runners.workflows.training.multi_symbol import (
        expand_data_paths,
        parallel_segments,
    )
    from bt_attention_lstm.runners.workflows.training.pipeline import (
        min_training_bars,
        train_and_save,
    )

    model_config, config = configs_from_args(args, FeatureSpec().n_features)
    needed = min_training_bars(model_config, config)
    if args.data:
        args.data = expand_data_paths(args.data)  # a folder means every data file in it
    frames = [
        require_bars(df, needed, "feature warm-up + sequence length + label horizon + CV folds")
        for df in load_frames(args)
    ]
    check_training_bar_sizes(frames, args.allow_timeframe_mismatch)  # one model, one bar size
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
