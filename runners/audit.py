"""Audit a trained model on any data: look-ahead, in-sample overlap, the PSR of its backtest, and
whether its out-of-sample edge is distinguishable from noise (surrogate data). ``--help`` lists
the checks; the work is ``runners.research.audit.run_audit``.

    python runners/audit.py --data prices.csv --model DIR --start 2010-01-01
    python runners/audit.py --data prices.csv --model DIR --method phase --surrogates 50 \\
        --json audit.json

The exit code is 0 whatever the verdict (2 for bad input).
"""

from __future__ import annotations

from bt_attention_lstm.runners.cli.audit_args import (
    SURROGATE_METHODS,
    build_parser,
    config_from_args,
)
from bt_attention_lstm.runners.cli.common import check_date_range, logging_from_args, run_main
from bt_attention_lstm.runners.cli.outputs import announce_file, check_file_target

__all__ = ["SURROGATE_METHODS", "build_parser", "main"]


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    announce_file("--json", check_file_target("--json", args.json))
    config = config_from_args(args)
    from bt_attention_lstm.runners.research.audit import job, report

    result = job.run_audit(config)
    print(report.audit_text(result))
    if result.json_path is not None:
        print(f"json: {result.json_path}")
    return 0


if __name__ == "__main__":
    run_main(main)
