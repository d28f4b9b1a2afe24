"""Hyperparameter sweep scored by walk-forward out-of-sample Sharpe ratio (never in-sample).

    python runners/sweep.py --data models/datasets/orcl-1995-2014.txt --trials 2 --epochs 2 \\
        --engine ray --out DIR

Every trial trains and trades the same walk-forward folds (see walkforward.py) with one sampled
configuration; its score is the annualised Sharpe ratio of its stitched out-of-sample returns.
With --engine ray the trials run under Ray Tune with an ASHA scheduler, which stops a trial whose
running score falls behind after a few folds; --engine local runs the same trials (the same
seeded draws from the same space) in a process pool, every one to the end. DIR gets trials.csv
and best.json: the best configuration, its Sharpe ratio and its deflated Sharpe ratio, which
accounts for the number of trials. The work is ``runners.research.sweep.run_sweep``.
"""

from __future__ import annotations

from bt_attention_lstm.runners.cli.common import (
    check_date_range,
    logging_from_args,
    prepare_out_dir,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.sweep_args import build_parser, read_space, sweep_config

__all__ = ["build_parser", "main"]


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    space = read_space(args.space)
    config = sweep_config(args, prepare_out_dir(args.out, command="sweep"), space)
    from bt_attention_lstm.runners.cli.walkforward_text import sweep_result_lines
    from bt_attention_lstm.runners.research.sweep import execute_sweep, plan_sweep

    plan = plan_sweep(config)  # every check, the engine started; nothing written yet
    announce(plan.out)
    print(
        f"engine: {plan.engine.describe()}; {config.trials} trial(s) x {len(plan.folds)} "
        f"walk-forward folds; early stopping: {plan.scheduler}"
    )
    result = execute_sweep(plan)
    print("\n".join(sweep_result_lines(result.trials, result.best)))
    print(f"engine: {result.engine}")
    print(f"results: {result.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
