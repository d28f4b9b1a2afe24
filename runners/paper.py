"""Rehearse live trading: replay a price file through a live-like feed and report the live part.

    python runners/paper.py --data prices.csv --model DIR
    python runners/paper.py --data prices.csv --model DIR --start 2010-01-01 --speed 2 \\
        --state paper-state.json --decision-log decisions.jsonl

The feed behaves as IBData/OandaData/CCXT feeds do: DELAYED and a backfill of --backfill bars
from --start on (features and the model warm up, no orders; by default as many as the model
needs to warm up and settle), then LIVE and one bar at a time. Every live
safeguard is on: orders only on LIVE bars, every order event handled, the decision log, the
state file. The report (tear sheet, metrics.json, returns.csv, trades.csv, chart.png) is
backtest.py's, for the live bars. The work is ``runners.research.paper.run_paper``.
"""

from __future__ import annotations

from bt_attention_lstm.runners.cli.common import (
    check_date_range,
    logging_from_args,
    prepare_out_dir,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.paper_args import (
    WARMUP_MARGIN,
    build_parser,
    paper_config,
    session_lines,
)

__all__ = ["WARMUP_MARGIN", "build_parser", "main"]


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    config = paper_config(args, prepare_out_dir(args.out, command="paper"))
    from bt_attention_lstm.runners.cli.summary_text import final_summary, print_summary
    from bt_attention_lstm.runners.research.paper import execute_paper, plan_paper

    plan = plan_paper(config)  # the data and the model loaded and checked; nothing written
    announce(plan.out, state=args.state, decision_log=args.decision_log)
    if not args.quiet:
        print(plan.describe(), flush=True)
    result = execute_paper(plan)
    print_summary(result.metrics)
    print("\n".join(session_lines(result, args)))
    print("\n".join(final_summary(result.metrics, result.out)))
    return 0


if __name__ == "__main__":
    run_main(main)
