"""The audit behind ``runners/audit.py``: load, check causality and overlap, backtest, run the
surrogate test, print the verdict table and write the JSON report."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe, select_range
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.cv_report import cv_check, cv_check_text
from bt_attention_lstm.reports import dumps_strict
from bt_attention_lstm.runners.cli.common import (
    check_bar_size,
    check_data_kind,
    load_frames,
    require_bars,
)
from bt_attention_lstm.runners.cli.trading_args import (
    broker_from_args,
    strategy_params,
)
from bt_attention_lstm.runners.research.audit.core import (
    BacktestSummary,
    CausalityResult,
    OverlapResult,
    SurrogateResult,
    causality_check,
    day,
    overlap_check,
    summarise,
    surrogate_test,
    verdict,
)
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro

MIN_TRADED_BARS = 20


def validate_args(args: argparse.Namespace) -> None:
    if args.surrogates < 0:
        raise ConfigError(f"--surrogates must be >= 0, got {args.surrogates}")
    if not args.block_len >= 1.0:
        raise ConfigError(f"--block-len must be >= 1 bar, got {args.block_len}")
    if args.json and Path(args.json).is_dir():
        raise ConfigError(f"--json {args.json} is a directory; give a file path")
    if args.json and not Path(args.json).parent.is_dir():
        raise ConfigError(f"--json {args.json}: the folder {Path(args.json).parent} does not exist")
    resolve_device(args.device)


def load_data(args: argparse.Namespace, artifact: Artifact) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The whole series up to --end (bars before --start warm up) and the first traded bar."""
    trade_from, args.start = args.start, None
    df = load_frames(args)[0]
    args.start = trade_from
    check_bar_size(artifact.meta, df, args.allow_timeframe_mismatch)
    check_data_kind(artifact, df)
    traded = select_range(df, trade_from, None) if trade_from else df
    needed = warmup_bars(artifact.feature_spec) + artifact.seq_len + 1
    df = require_bars(df, needed, "feature warm-up + sequence length + bars to trade")
    if len(traded) < MIN_TRADED_BARS:
        raise DataError(
            f"only {len(traded)} bars to trade from {traded.index[0]}; the audit needs at least "
            f"{MIN_TRADED_BARS}"
        )
    return df, traded.index[0]


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Write next to the target and rename: a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps_strict(report))
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _row(check: str, value: str, ok: bool | None) -> None:
    mark = "-" if ok is None else ("PASS" if ok else "FAIL")
    print(f"{check:<22}{value:<58}{mark}")


def print_report(causality: CausalityResult, overlap: OverlapResult, summary: BacktestSummary,
                 surrogates: SurrogateResult | None, final: str,
                 cv: dict[str, Any] | None = None) -> None:
    print()
    print(f"{'check':<22}{'result':<58}verdict")
    if cv is not None:  # from the artifact's meta.json: the nested CV of its training run
        _row(f"training CV ({cv['folds']} folds)", cv_check_text(cv), cv["passed"])
    _row("causality (runonce)",
         f"max |deviation| features {causality.max_deviation:.3g}, model "
         f"{causality.signal_deviation:.3g} over {len(causality.cuts)} cuts",
         causality.passed)
    _row("out-of-sample",
         f"{overlap.overlap_bars} traded bars inside training "
         f"{overlap.trained_start}..{overlap.trained_end}", overlap.passed)
    _row("Sharpe (annualised)",
         f"strategy {summary.sharpe:.2f}, buy & hold {summary.benchmark_sharpe:.2f}", None)
    _row("total return",
         f"strategy {summary.total_return:.2%}, buy & hold {summary.benchmark_total_return:.2%}",
         None)
    _row("trades / exposure", f"{summary.n_trades} trades, {summary.exposure:.0%} in market", None)
    psr = "n/a" if summary.psr is None else f"{summary.psr:.3f}"
    _row("PSR (SR > 0)", f"{psr} (needs >= 0.95)", summary.psr_passed)
    if surrogates is not None and surrogates.n:
        label = (f"block bootstrap, mean {surrogates.block_len:g} bars"
                 if surrogates.block_len else "phase randomised")
        _row(f"surrogates ({surrogates.n})",
             f"p = {surrogates.p_value:.3f}: {surrogates.n_at_least}/{surrogates.n} >= real",
             surrogates.passed)
        sharpes = surrogates.sharpes
        _row("", f"{label}", None)
        _row("", f"surrogate Sharpe mean {sum(sharpes) / len(sharpes):.2f}, max {max(sharpes):.2f}",
             None)
    for warning in (cv or {}).get("warnings", []):
        print(f"WARNING: {warning}")
    print(f"\nverdict: {final}")


def run_surrogates(args: argparse.Namespace, df: pd.DataFrame, artifact: Artifact,
                   params: dict[str, Any], broker: BrokerConfig, start: pd.Timestamp,
                   real_sharpe: float, periods_per_year: float) -> SurrogateResult | None:
    if not args.surrogates:
        return None
    show_progress = not args.quiet and sys.stderr.isatty()

    def progress(k: int) -> None:
        if show_progress:
            print(f"\rsurrogates: {k}/{args.surrogates}", end="", file=sys.stderr, flush=True)

    result = surrogate_test(
        df, artifact, params, broker, start, real_sharpe, periods_per_year, args.method,
        args.surrogates,
        args.surrogate_seed, args.block_len, progress,
    )
    if show_progress:
        print(file=sys.stderr)
    return result


def run_audit(args: argparse.Namespace) -> int:
    """The whole audit for parsed arguments; returns the exit code."""
    validate_args(args)
    artifact = load_artifact(args.model)
    df, start = load_data(args, artifact)
    periods_per_year = infer_periods_per_year(df.index)
    params = strategy_params(args, periods_per_year)
    broker = broker_from_args(args)

    first_defined = warmup_bars(artifact.feature_spec) + artifact.seq_len - 1
    # On CPU whatever --device says: a GPU kernel may round a window differently depending on
    # the batch around it, which would read as a (false) dependence on the future.
    causality = causality_check(df, artifact, first_defined, device="cpu")
    result = run_cerebro(df, artifact, params, broker, trade_start=start)
    summary = summarise(result.returns, len(result.trades), result.exposure, periods_per_year)
    overlap = overlap_check(artifact, result.returns.index)
    surrogates = run_surrogates(
        args, df, artifact, params, broker, start, summary.sharpe, periods_per_year
    )
    final = verdict(causality, overlap, summary, surrogates)

    index = result.returns.index
    print(f"audit of model {artifact.path} ({artifact.weights_sha256[:8]}) on "
          f"{Path(str(df.attrs.get('source', 'data'))).name}: {day(index[0])} .. "
          f"{day(index[-1])}, {len(index)} bars traded ({periods_per_year:.0f} bars/year)")
    cv = cv_check(artifact.meta)
    print_report(causality, overlap, summary, surrogates, final, cv)
    if args.json:
        write_json(Path(args.json), {
            "data": {
                "source": str(df.attrs.get("source", "unknown")), "start": day(index[0]),
                "end": day(index[-1]), "bars": len(index), "timeframe": infer_timeframe(df.index),
                "periods_per_year": periods_per_year,
            },
            "model": {"path": str(artifact.path), "sha256": artifact.weights_sha256},
            "causality": causality.to_dict(),
            "out_of_sample": {**asdict(overlap), "passed": overlap.passed},
            "backtest": {**asdict(summary), "psr_passed": summary.psr_passed},
            "surrogates": surrogates.to_dict() if surrogates is not None else None,
            "training_cv": cv,
            "verdict": final,
        })
        print(f"json: {args.json}")
    return 0

