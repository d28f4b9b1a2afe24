"""Train an AttentionLSTM offline and write a safe artifact (model.safetensors + meta.json).

python runners/train.py --data models/datasets/orcl-1995-2014.txt --end 2009-12-31 --out DIR
python runners/train.py --data A.csv --data B.csv --out DIR     # one model, several symbols

Without --out, the artifact goes to a new folder under $XDG_DATA_HOME/bt-attention-lstm/runs
(~/.local/share/...), printed before the work starts.
"""

from __future__ import annotations

import argparse

from bt_attention_lstm.runners.cli.common import (
    check_date_range,
    logging_from_args,
    prepare_out_dir,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.train_args import build_parser as _build_parser
from bt_attention_lstm.runners.cli.train_args import train_run_config


def build_parser() -> argparse.ArgumentParser:
    return _build_parser(__doc__.split("\n\n")[0])


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    out = prepare_out_dir(args.out, force=args.force, command="train")  # before the other flags
    config = train_run_config(args, out)
    from bt_attention_lstm.runners.cli.train_text import plan_line, print_trained
    from bt_attention_lstm.runners.research.training import execute_training, plan_training

    plan = plan_training(config)
    announce(plan.out)
    if not args.quiet:
        print(plan_line(plan.frames, config.model, config.training), flush=True)
    if len(plan.frames) > 1:
        print(f"training one model on {len(plan.frames)} symbols")
    result = execute_training(plan)
    print_trained(result, args.symbol, data_given=bool(args.data))
    return 0


if __name__ == "__main__":
    run_main(main)
