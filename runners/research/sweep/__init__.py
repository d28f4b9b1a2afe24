"""Hyperparameter sweep: search space, one trial, Ray Tune driver, the report, the whole run.

Names are exported lazily (``models.lazy_exports``): importing the package, or a light module
of it, does not import torch or backtrader."""

from typing import TYPE_CHECKING

from bt_attention_lstm.models.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.sweep.run import (
        SweepConfig,
        SweepPlan,
        SweepResult,
        execute_sweep,
        plan_sweep,
        run_sweep,
    )

_EXPORTS = {
    "SweepConfig": "run",
    "SweepPlan": "run",
    "SweepResult": "run",
    "execute_sweep": "run",
    "plan_sweep": "run",
    "run_sweep": "run",
}
__all__ = [
    "SweepConfig",
    "SweepPlan",
    "SweepResult",
    "execute_sweep",
    "plan_sweep",
    "run_sweep",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
