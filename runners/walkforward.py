"""Walk-forward retraining: train on a window, trade the next bars out of sample, roll forward.

    python runners/walkforward.py --data models/datasets/orcl-1995-2014.txt \\
        --train-bars 1500 --test-bars 500 --epochs 3 --engine ray --out DIR

Fold k trains only on bars before its test window (ending at least the label horizon before it),
then trades its --test-bars bars with history before them as warm-up. Folds run in parallel on
the engine; their out-of-sample segments are chained into one equity curve. DIR gets folds.csv
(per fold: ranges, val_loss = the mean log-loss of the time-series CV inside its training window,
out-of-sample Sharpe, return and trades), tearsheet.html, metrics.json (in_sample: false),
returns.csv, trades.csv and chart.png. Each fold starts flat with fresh cash; a position still
open at the end of a test window is valued at its last close. The work is
``runners.research.walkforward.run_walkforward``.
"""

from __future__ import annotations

from bt_attention_lstm.runners.cli.common import (
    check_date_range,
    logging_from_args,
    prepare_out_dir,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.walkforward_args import build_parser, walkforward_config

__all__ = ["build_parser", "main"]


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    config = walkforward_config(args, prepare_out_dir(args.out, command="walkforward"))
    from bt_attention_lstm.runners.cli.summary_text import print_summary
    from bt_attention_lstm.runners.cli.walkforward_text import fold_lines
    from bt_attention_lstm.runners.research.walkforward import (
        execute_walkforward,
        plan_walkforward,
    )

    plan = plan_walkforward(config)  # every check, the engine started; nothing written yet
    announce(plan.out)
    print(f"engine: {plan.engine.describe()}; {len(plan.folds)} folds")
    result = execute_walkforward(plan)
    print("\n".join(fold_lines(result.folds)))
    print_summary(result.metrics)
    print(f"engine: {result.engine}")
    print(f"report: {result.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
