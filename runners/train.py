"""Train an AttentionLSTM offline and write a safe artifact (model.safetensors + meta.json).

python runners/train.py --data models/datasets/orcl-1995-2014.txt --end 2009-12-31 --out DIR
python runners/train.py --data A.csv --data B.csv --out DIR     # one model, several symbols
"""

from __future__ import annotations

import argparse

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    check_date_range,
    check_training_bar_sizes,
    load_frames,
    logging_from_args,
    prepare_out_dir,
    prog,
    require_bars,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce, out_help
from bt_attention_lstm.runners.cli.train_text import data_flags, fold_table_lines, plan_line
from bt_attention_lstm.runners.cli.training_args import add_training_args, configs_from_args


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=prog("train"),
        description=__doc__.split("\n\n")[0],
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


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    out = prepare_out_dir(args.out, force=args.force, command="train")
    from bt_attention_lstm.models.features.spec import FeatureSpec
    from bt_attention_lstm.models.training.multi_symbol import (
        expand_data_paths,
        parallel_segments,
    )
    from bt_attention_lstm.models.training.pipeline import (
        min_training_bars,
        train_and_save,
    )
    from bt_attention_lstm.models.training.progress import training_bar

    model_config, config = configs_from_args(args, FeatureSpec().n_features)
    needed = min_training_bars(model_config, config)
    if args.data:
        args.data = expand_data_paths(args.data)  # a folder means every data file in it
    frames = [
        require_bars(df, needed, "feature warm-up + sequence length + label horizon + CV folds")
        for df in load_frames(args)
    ]
    check_training_bar_sizes(frames, args.allow_timeframe_mismatch)  # one model, one bar size
    announce(out)
    if not args.quiet:
        print(plan_line(frames, model_config, config), flush=True)
    # Several symbols: one Segment each, computed in worker processes; windows stay inside one.
    segments = parallel_segments(frames, config) if len(frames) > 1 else None
    if segments is not None:
        print(f"training one model on {len(frames)} symbols")
    with training_bar(config, not args.quiet):
        path, result = train_and_save(
            frames, model_config, config, out, progress=False, segments=segments
        )
    print("\n".join(fold_table_lines(result)))
    print(f"artifact: {path}")
    end = max(df.index[-1] for df in frames)
    print(f"backtest it on bars after {end.date()}: bt-lstm backtest --model {path}"
          f"{data_flags(args)} --start YYYY-MM-DD")
    return 0


if __name__ == "__main__":
    run_main(main)
