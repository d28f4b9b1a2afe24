"""Run a sweep's trials with Ray Tune: ASHA stops trials whose running out-of-sample Sharpe falls
behind after a few folds. Ray's own files go to a temporary directory, its output is silenced."""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from bt_attention_lstm.runners.research.sweep.space import PARAMS, Space, to_tune
from bt_attention_lstm.runners.research.sweep.trial import (
    SweepSettings,
    TrialRecord,
    TrialScore,
    returns_from_lists,
    tune_trainable,
)

logger = logging.getLogger(__name__)

METRIC = "oos_sharpe"
STOPPED = "stopped early (ASHA)"


def asha_scheduler(n_folds: int) -> Any:
    """One time unit per fold; every trial gets at least two folds before it can be cut."""
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=n_folds,
        grace_period=min(2, n_folds),
        reduction_factor=2,
    )


def _progress_callback(total: int, enabled: bool) -> Any:
    from ray import tune

    class TrialProgress(tune.Callback):
        """tqdm over finished trials (Tune's own reporter is off)."""

        def __init__(self) -> None:
            self.bar = tqdm(total=total, desc="trials", disable=not enabled)

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.bar.update(1)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.bar.update(1)

        def on_experiment_end(self, trials: list, **info: Any) -> None:
            self.bar.close()

    return TrialProgress()


def run_tune(
    bars: pd.DataFrame,
    configs: list[dict[str, Any]],
    space: Space,
    settings: SweepSettings,
    max_concurrent: int,
    seed: int,
    progress: bool = True,
) -> list[TrialRecord]:
    """Every configuration as one Tune trial (on the Ray that is already connected)."""
    # No TensorBoard/CSV/JSON logger callbacks: the results come back through the ResultGrid.
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    # Tune's newer console output prints an experiment banner even at verbose=0; the classic
    # reporter is silent at verbose=0.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    trainable = tune.with_resources(
        tune.with_parameters(tune_trainable, bars=bars, settings=settings),
        {"cpu": settings.threads},
    )
    n_folds = len(settings.plans)
    with tempfile.TemporaryDirectory(prefix="sweep-ray-") as storage:
        tuner = tune.Tuner(
            trainable,
            param_space=to_tune(space),
            tune_config=tune.TuneConfig(
                metric=METRIC,
                mode="max",
                scheduler=asha_scheduler(n_folds),
                # The same seeded configurations as the local engine, in the same order.
                search_alg=BasicVariantGenerator(points_to_evaluate=configs, random_state=seed),
                num_samples=len(configs),
                max_concurrent_trials=max_concurrent,
            ),
            run_config=tune.RunConfig(
                name="sweep",
                storage_path=storage,
                verbose=0,
                callbacks=[_progress_callback(len(configs), progress)],
            ),
        )
        grid = tuner.fit()
        records = [_record(grid[i], n_folds) for i in range(len(grid))]
    return sorted(records, key=lambda r: r.trial_id)


def _record(result: Any, n_folds: int) -> TrialRecord:
    config = result.config or {}
    params = {k: config[k] for k in PARAMS if k in config}
    metrics = result.metrics or {}
    trial_id = str(metrics.get("trial_id") or os.path.basename(str(result.path)))
    score = _score(metrics) if metrics.get("folds_completed") else None
    if result.error is not None:
        lines = str(result.error).strip().splitlines()
        status = f"error: {lines[-1] if lines else type(result.error).__name__}"
    elif score is not None and score.folds_completed < n_folds:
        status = STOPPED
    else:
        status = "completed"
    return TrialRecord(trial_id, params, status, score)


def _score(metrics: dict[str, Any]) -> TrialScore:
    if "oos_returns" in metrics:
        returns = returns_from_lists(metrics["oos_returns"], metrics["oos_times"])
    else:
        returns = pd.Series(dtype=float)
    defined = bool(metrics.get("sharpe_defined"))
    val_loss = metrics.get("val_loss")
    return TrialScore(
        oos_sharpe=float(metrics[METRIC]) if defined else None,
        oos_sharpe_per_period=float(metrics["oos_sharpe_per_period"]) if defined else None,
        val_loss=None if val_loss is None or not np.isfinite(val_loss) else float(val_loss),
        n_trades=int(metrics.get("n_trades", 0)),
        folds_completed=int(metrics["folds_completed"]),
        returns=returns,
    )
