"""Rehearse live trading: replay a price file through a live-like feed and report the live part.

    python runners/paper.py --data prices.csv --model models/output/attention-lstm
    python runners/paper.py --data prices.csv --model DIR --backfill 500 --speed 2 \\
        --state paper-state.json --decision-log decisions.jsonl

The feed behaves as IBData/OandaData/CCXT feeds do: DELAYED and a backfill of --backfill bars
(features and the model warm up, no orders), then LIVE and one bar at a time. Every live
safeguard is on: orders only on LIVE bars, every order event handled, the decision log, the
state file. The report (tear sheet, metrics.json, returns.csv, trades.csv, chart.png) is
backtest.py's, for the live bars.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
from pathlib import Path

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    check_bar_size,
    check_date_range,
    load_frames,
    logging_from_args,
    prepare_out_dir,
    require_bars,
    run_main,
)
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)

logger = logging.getLogger("paper")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="paper.py", description=__doc__.split("\n\n")[0])
    add_data_args(p)
    p.add_argument("--model", metavar="DIR", required=True,
                   help="artifact directory from train.py")
    add_broker_args(p)
    add_strategy_args(p)
    add_common_args(p)
    s = p.add_argument_group("paper session")
    s.add_argument("--backfill", type=int, default=300,
                   help="bars of history sent as DELAYED before the feed goes LIVE "
                   "(default: %(default)s)")
    s.add_argument("--speed", type=float, default=0.0,
                   help="live bars released per second; 0 = as fast as the strategy runs "
                   "(default: %(default)s)")
    s.add_argument("--state", metavar="FILE",
                   help="strategy state file (JSON, saved after every change; default: "
                   "state.json in --out)")
    s.add_argument("--decision-log", metavar="FILE",
                   help="JSON-lines decision log (default: decisions.jsonl in --out)")
    add_out_arg(s, "the report", None)
    s.add_argument("--no-html", action="store_true", help="skip the quantstats tear sheet")
    return p


def main() -> int:
    args = build_parser().parse_args()
    logging_from_args(args)
    check_date_range(args)
    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)
    out = prepare_out_dir(args.out)
    from bt_attention_lstm.models.artifact import load_artifact
    from bt_attention_lstm.models.data import periods_per_year
    from bt_attention_lstm.runners.workflows.paper import PaperConfig, run_paper

    df = load_frames(args)[0]
    artifact = load_artifact(args.model)
    check_bar_size(artifact.meta, df, args.allow_timeframe_mismatch)
    df = require_bars(df, args.backfill + 2, "--backfill + two live bars")
    ppy = periods_per_year(df.index)
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
        session = run_paper(df, artifact, {**params, "periods_per_year": ppy}, broker, config)
        path = _report(args, out, session, artifact, ppy, df)
        for name in ("state.json", "decisions.jsonl"):
            if (scratch / name).exists():
                shutil.move(scratch / name, path / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    state = args.state or path / "state.json"
    decisions = args.decision_log or path / "decisions.jsonl"
    print(f"live from {session.live_start} after {args.backfill} backfilled bars")
    print(f"state: {state}\ndecisions: {decisions}")
    print(f"report: {path}")
    return 0


def _report(args: argparse.Namespace, out: Path, session, artifact, ppy: float, df) -> Path:  # type: ignore[no-untyped-def]
    from bt_attention_lstm.models.data import infer_timeframe
    from bt_attention_lstm.runners.workflows.reporting import (
        build_metrics,
        print_summary,
        write_report,
    )

    metrics = build_metrics(session.result, artifact, ppy, infer_timeframe(df.index))
    metrics["paper"] = {
        "live_start": str(session.live_start),
        "backfill_bars": args.backfill,
        "orders_on_backfill": session.backfill_orders,
        "rss_kb_per_bar": session.rss_kb_per_bar,
    }
    if metrics["in_sample"]:
        logger.warning(
            "the live range overlaps the model's training range (%s .. %s): these results are "
            "IN-SAMPLE and overstate what the model can do",
            *artifact.trained_range,
        )
    title = (
        f"AttentionLSTM paper session on {Path(str(df.attrs.get('source', 'data'))).name} "
        f"{metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    from bt_attention_lstm.strategies.attention_lstm import entry_threshold

    threshold = entry_threshold(artifact, args.threshold, args.sizing)
    path = write_report(out, session.result, metrics, threshold, ppy, title,
                        html=not args.no_html)
    print_summary(metrics)
    return path


if __name__ == "__main__":
    run_main(main)
