"""Backtest an AttentionLSTM with backtrader and write a quantstats tear sheet, metrics.json,
returns.csv, trades.csv and chart.png.

    python runners/backtest.py                       # synthetic market, default model
    python runners/backtest.py --data prices.csv --model DIR --start 2010-01-01

Without --out, the report goes to a new folder under $XDG_DATA_HOME/bt-attention-lstm/runs
(~/.local/share/...), printed before the work starts.
"""

from __future__ import annotations

import argparse

from bt_attention_lstm.runners.cli.backtest_args import backtest_config
from bt_attention_lstm.runners.cli.backtest_args import build_parser as _build_parser
from bt_attention_lstm.runners.cli.common import check_date_range, logging_from_args, run_main
from bt_attention_lstm.runners.cli.outputs import announce


def build_parser() -> argparse.ArgumentParser:
    return _build_parser(__doc__.split("\n\n")[0])


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    # every flag, the data and the model are checked before any work is done
    check_date_range(args)
    config = backtest_config(args)
    from bt_attention_lstm.runners.cli.backtest_text import plan_line, print_backtest
    from bt_attention_lstm.runners.research.backtest import execute_backtest, plan_backtest

    plan = plan_backtest(config)
    announce(plan.out)
    if not args.quiet:
        print(plan_line(plan), flush=True)
    result = execute_backtest(plan)
    print_backtest(result, config.broker.commission)
    return 0


if __name__ == "__main__":
    run_main(main)
