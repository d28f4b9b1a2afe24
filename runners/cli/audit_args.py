"""Audit a trained model on any data: look-ahead, in-sample overlap, and whether its
out-of-sample edge is distinguishable from noise.

Checks, each with a verdict:

1. causality: the data is truncated after a few bars t and ModelSignal (and its features) is
   recomputed in runonce mode, where backtrader preloads every bar; the outputs at bars <= t
   must equal those of the full run (max deviation <= 1e-9, on CPU), or the model reads the
   future.
2. out-of-sample: the traded range (--start .. --end) must not overlap the dates the model was
   trained on (from its meta.json).
3. Sharpe: the strategy (AttentionLSTMStrategy, backtest.py's flags) is backtested on the traded
   range; its probabilistic Sharpe ratio PSR(SR > 0) (Bailey & Lopez de Prado 2012) must be
   >= 0.95.
4. surrogates: the same model trades N randomised versions of the traded range (--method block:
   stationary bootstrap of whole bars, mean block --block-len; --method phase: FFT phase
   randomisation of the log returns, which keeps their linear autocorrelation, a stricter null).
   p = (1 + #{surrogate Sharpe >= real Sharpe}) / (1 + N) must be <= 0.05, so N >= 19.
   Each surrogate is one batched (runonce) backtest, ~0.3 s for 3000 daily bars on one CPU
   core: the default N = 20 adds seconds; use more (99, 199) for a finer p-value.

The exit code is 0 whatever the verdict (2 for bad input); --json writes the report atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bt_attention_lstm.runners.cli.common import (
    OneLineParser,
    add_common_args,
    add_data_args,
    prog,
)
from bt_attention_lstm.runners.cli.trading_args import (
    add_broker_args,
    add_strategy_args,
    broker_from_args,
    strategy_params,
)

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.audit import AuditConfig

SURROGATE_METHODS = ("block", "phase")  # runners.research.audit.surrogates; a test keeps equal


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    p = OneLineParser(
        prog=prog("audit"),
        description=doc.split("\n\n")[0],
        epilog=doc[doc.index("Checks, each"):],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(
        p,
        start_help="first date of the traded range; earlier bars only warm the model up",
        end_help="last date of the traded range, inclusive",
    )
    p.add_argument("--model", metavar="DIR", required=True, help="artifact directory (train.py)")
    s = p.add_argument_group("surrogate test")
    s.add_argument("--surrogates", type=int, default=20, metavar="N",
                   help="randomised series to trade; 0 skips the test (default: %(default)s)")
    s.add_argument("--method", choices=SURROGATE_METHODS, default="block",
                   help="block bootstrap or phase randomisation (default: %(default)s)")
    s.add_argument("--block-len", type=float, default=5.0, metavar="BARS",
                   help="mean block length of --method block (default: %(default)s)")
    s.add_argument("--surrogate-seed", type=int, default=0, metavar="SEED",
                   help="seed of the randomised series (default: %(default)s)")
    add_broker_args(p, cash_help="starting cash of the backtest and of each surrogate's")
    add_strategy_args(p)
    add_common_args(p)
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE "
                   "(nothing else is written)")
    return p


def config_from_args(args: argparse.Namespace) -> AuditConfig:
    """The library's config for parsed flags (broker and strategy flags checked here)."""
    from bt_attention_lstm.runners.research.audit import AuditConfig

    return AuditConfig(
        model=args.model,
        data=args.data,
        symbol=args.symbol,
        format=args.format,
        start=args.start,
        end=args.end,
        timeframe=args.timeframe,
        allow_timeframe_mismatch=args.allow_timeframe_mismatch,
        surrogates=args.surrogates,
        method=args.method,
        block_len=args.block_len,
        surrogate_seed=args.surrogate_seed,
        broker=broker_from_args(args),
        # periods_per_year and device are the audit's own (from the bars and config.device)
        strategy_params=strategy_params(args, 252.0),
        device=args.device,
        json_path=Path(args.json) if args.json else None,
        progress=not args.quiet and sys.stderr.isatty(),
    )
