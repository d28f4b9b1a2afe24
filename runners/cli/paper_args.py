"""``bt-lstm paper``'s parser, its flags as the library's ``PaperConfig``, and what it prints.

Light on purpose: the heavy imports wait until the arguments are parsed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    add_out_arg,
    prog,
)
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)
from bt_attention_lstm.runners.cli.walkforward_args import data_fields

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.paper import PaperConfig, PaperResult

PAPER_DESCRIPTION = (
    "Rehearse live trading: replay a price file through a live-like feed and report the live "
    "part."
)
# strategies.live.gate.WARMUP_MARGIN, for --help without importing backtrader (a test keeps
# the two equal)
WARMUP_MARGIN = 100


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog("paper"), description=PAPER_DESCRIPTION)
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


def paper_config(args: argparse.Namespace, out: Path) -> PaperConfig:
    """The parsed flags as the library's config (``out``: the checked run folder)."""
    from bt_attention_lstm.runners.research.paper import PaperConfig

    broker = broker_from_args(args)
    params = strategy_params(args, 252.0)  # the library sets the data's periods per year
    return PaperConfig(
        model=args.model, **data_fields(args),
        allow_timeframe_mismatch=args.allow_timeframe_mismatch,
        strategy_params=params, broker=broker, backfill=args.backfill, speed=args.speed,
        state_path=Path(args.state) if args.state else None,
        decision_log=Path(args.decision_log) if args.decision_log else None,
        out=out, html=not args.no_html,
    )


def session_lines(result: PaperResult, args: argparse.Namespace) -> list[str]:
    """Where the live part began, and the session's state file and decision log (as given)."""
    return [
        f"live from {result.live_start} after {result.backfill} backfilled bars",
        f"state: {args.state or result.state_path}",
        f"decisions: {args.decision_log or result.decision_log}",
    ]
