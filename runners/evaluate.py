"""Does the model earn its place on my data? Train the default model on the first part of each
data set (several seeds), then compare it with baselines on what it never saw: nested CV, the
out-of-sample log-loss against the prior, and out-of-sample trading against buy-and-hold, an SMA
crossover and time-series momentum (``--help`` says more; the work is
``runners.research.evaluation.run_evaluation``).

    python runners/evaluate.py --data prices.csv
    python runners/evaluate.py --data synthetic:default --data synthetic:planted --seeds 3 \\
        --json eval.json
"""

from __future__ import annotations

from typing import Any

from bt_attention_lstm.runners.cli.common import logging_from_args, run_main
from bt_attention_lstm.runners.cli.evaluate_args import build_parser, config_from_args
from bt_attention_lstm.runners.cli.outputs import announce_file, check_file_target

__all__ = ["build_parser", "main"]


def print_dataset(result: dict[str, Any]) -> None:
    from bt_attention_lstm.runners.research.evaluation.report import dataset_text

    print(dataset_text(result), end="\n\n", flush=True)


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    announce_file("--json", check_file_target("--json", args.json))
    config = config_from_args(args)
    from bt_attention_lstm.runners.research.evaluation import job

    result = job.run_evaluation(config, on_dataset=print_dataset)
    if result.json_path is not None:
        print(f"json: {result.json_path}")
    return 0


if __name__ == "__main__":
    run_main(main)
