"""The audit of a trained model on one series: causality and overlap checks, a backtest with its
PSR, the surrogate test, and one verdict (``runners/audit.py`` prints it)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe
from bt_attention_lstm.models.device import resolve_device
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.models.training.cv_report import cv_check
from bt_attention_lstm.runners.research.audit.config import AuditConfig
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
from bt_attention_lstm.runners.research.audit.inputs import audit_data
from bt_attention_lstm.runners.research.audit.json_file import write_json
from bt_attention_lstm.runners.research.cerebro import run_cerebro

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditResult:
    """Every check of one audit, the verdict, and where the JSON report went (if anywhere)."""

    model_path: str
    model_sha256: str
    source: str | None  # the bars' ``attrs["source"]``: a path, "synthetic", "yfinance:T"
    first_traded: str
    last_traded: str
    traded_bars: int
    timeframe: str
    periods_per_year: float
    causality: CausalityResult
    overlap: OverlapResult
    backtest: BacktestSummary
    surrogates: SurrogateResult | None
    training_cv: dict[str, Any] | None  # the nested CV verdict of the model's training run
    verdict: str
    json_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            "data": {
                "source": self.source or "unknown", "start": self.first_traded,
                "end": self.last_traded, "bars": self.traded_bars, "timeframe": self.timeframe,
                "periods_per_year": self.periods_per_year,
            },
            "model": {"path": self.model_path, "sha256": self.model_sha256},
            "causality": self.causality.to_dict(),
            "out_of_sample": {**asdict(self.overlap), "passed": self.overlap.passed},
            "backtest": {**asdict(self.backtest), "psr_passed": self.backtest.psr_passed},
            "surrogates": self.surrogates.to_dict() if self.surrogates is not None else None,
            "training_cv": self.training_cv,
            "verdict": self.verdict,
        }


def run_audit(config: AuditConfig) -> AuditResult:
    """Load the model and the bars, run every check, and write the JSON report when
    ``config.json_path`` is set. UserInputError for input no audit can run on."""
    config.validate()
    resolve_device(config.device)
    artifact = load_artifact(config.model)
    df, start = audit_data(config, artifact)
    periods_per_year = infer_periods_per_year(df.index)
    params = {**config.strategy_params, "device": config.device,
              "periods_per_year": periods_per_year}

    first_defined = warmup_bars(artifact.feature_spec) + artifact.seq_len - 1
    # On CPU whatever `device` says: a GPU kernel may round a window differently depending on
    # the batch around it, which would read as a (false) dependence on the future.
    causality = causality_check(df, artifact, first_defined, device="cpu")
    run = run_cerebro(df, artifact, params, config.broker, trade_start=start)
    summary = summarise(run.returns, len(run.trades), run.exposure, periods_per_year)
    overlap = overlap_check(artifact, run.returns.index)
    surrogates = None
    if config.surrogates:
        with tqdm(total=config.surrogates, desc="surrogates", disable=not config.progress,
                  leave=False) as bar:

            def advance(done: int) -> None:
                bar.update(done - bar.n)

            surrogates = surrogate_test(
                df, artifact, params, config.broker, start, summary.sharpe, periods_per_year,
                config.method, config.surrogates, config.surrogate_seed, config.block_len,
                progress=advance,
            )
    index = run.returns.index
    source = df.attrs.get("source")
    result = AuditResult(
        model_path=str(artifact.path), model_sha256=artifact.weights_sha256,
        source=None if source is None else str(source), first_traded=day(index[0]),
        last_traded=day(index[-1]), traded_bars=len(index),
        timeframe=infer_timeframe(df.index), periods_per_year=periods_per_year,
        causality=causality, overlap=overlap, backtest=summary, surrogates=surrogates,
        training_cv=cv_check(artifact.meta),
        verdict=verdict(causality, overlap, summary, surrogates),
        json_path=config.json_path,
    )
    if config.json_path is not None:
        write_json(config.json_path, result.to_dict())
        logger.info("audit report written to %s", config.json_path)
    return result
