"""Rehearse live trading: replay a price file through a live-like feed and report the live part.

    python runners/paper.py --data prices.csv --model DIR
    python runners/paper.py --data prices.csv --model DIR --start 2010-01-01 --speed 2 \\
        --state paper-state.json --decision-log decisions.jsonl

The feed behaves as IBData/OandaData/CCXT feeds do: DELAYED and a backfill of --backfill bars
from --start on (features and the model warm up, no orders; by default as many as the model
needs to warm up and settle), then LIVE and one bar at a time. Every live
safeguard is on: orders only on LIVE bars, every order event handled, the decision log, the
state file. The report (tear sheet, metrics.json, returns.csv, trades.csv, chart.png) is
backtest.py's, for the live bars.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    check_bar_size,
    check_data_kind,
    check_date_range,
    load_frames,
    logging_from_args,
    prepare_out_dir,
    prog,
    require_bars,
    run_main,
)
from bt_attention_lstm.runners.cli.outputs import announce
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)

# strategies.live.gate.WARMUP_MARGIN, for --help without importing backtrader (a test keeps
# the two equal)
WARMUP_MARGIN = 100


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("paper"), description=__doc__.split("\n\n")[0])
    add_data_args(
        p,
        start_help="first bar of the replay: the backfill starts here, the live part after it",
        end_help="last bar of the replay, inclusive",
    )
    p.add_argument("--model", metavar="DIR", required=True,
                   help="artifact directory from train.py")
    add_broker_args(p, cash_help="starting cash of the paper account")
    add_strategy_args(p)
    add_common_args(p)
    s = p.add_argument_group("paper session")
    s.add_argument("--backfill", type=int, default=None, metavar="BARS",
                   help="bars of history sent as DELAYED before the feed goes LIVE (default: "
                   "what the model needs: its feature warm-up + sequence length + "
                   f"{WARMUP_MARGIN} bars for the smoothed features to settle)")
    s.add_argument("--speed", type=float, default=0.0,
                   help="live bars released per second; 0 = as fast as the strategy runs "
                   "(default: %(default)s)")
    s.add_argument("--state", metavar="FILE",
                   help="strategy state file (JSON, saved after every change; default: "
                   "state.json in --out)")
    s.add_argument("--decision-log", metavar="FILE",
                   help="JSON-lines decision log (default: decisions.jsonl in --out)")
    add_out_arg(s, "the report", "paper")
    s.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    return p


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)
    out = prepare_out_dir(args.out, command="paper")
    from bt_attention_lstm.models.artifact import load_artifact
    from bt_attention_lstm.models.data import infer_periods_per_year
    from bt_attention_lstm.runners.research.paper import PaperConfig, needed_backfill, run_paper
    from bt_attention_lstm.runners.research.paper.report import (
        paper_plan_line,
        write_paper_report,
    )
    from bt_attention_lstm.runners.research.reporting import final_summary, print_summary
    from bt_attention_lstm.strategies.attention_lstm import entry_threshold

    df = load_frames(args)[0]
    artifact = load_artifact(args.model)
    check_bar_size(artifact.meta, df, args.allow_timeframe_mismatch)
    check_data_kind(artifact, df)
    if args.backfill is None:
        args.backfill = needed_backfill(artifact)
    df = require_bars(df, args.backfill + 2, "--backfill + two live bars")
    periods_per_year = infer_periods_per_year(df.index)
    announce(out, state=args.state, decision_log=args.decision_log)
    if not args.quiet:
        print(paper_plan_line(df, args.backfill), flush=True)
    # Without --state/--decision-log both go into the report directory; they are written while
    # the session runs, so they live in a hidden sibling until the report is in place.
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".paper-", dir=out.parent))
    try:
        config = PaperConfig(
            backfill=args.backfill,
            speed=args.speed,
            state_path=Path(args.state) if args.state else scratch / "state.json",
            decision_log=Path(args.decision_log) if args.decision_log
            else scratch / "decisions.jsonl",
        )
        params = {**params, "periods_per_year": periods_per_year}
        session = run_paper(df, artifact, params, broker, config)
        threshold = entry_threshold(artifact, args.threshold, args.sizing)
        path, metrics = write_paper_report(out, session, artifact, df, args.backfill, threshold,
                                           periods_per_year, html=not args.no_html)
        for name in ("state.json", "decisions.jsonl"):
            if (scratch / name).exists():
                shutil.move(scratch / name, path / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_summary(metrics)
    print(f"live from {session.live_start} after {args.backfill} backfilled bars")
    print(f"state: {args.state or path / 'state.json'}")
    print(f"decisions: {args.decision_log or path / 'decisions.jsonl'}")
    print("\n".join(final_summary(metrics, path)))
    return 0


if __name__ == "__main__":
    run_main(main)
