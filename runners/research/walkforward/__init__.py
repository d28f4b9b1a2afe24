"""Walk-forward retraining: fold plan, one fold, stitching, the report, and the whole run.

Names are exported lazily (``models.lazy_exports``): importing the package, or a light module
of it, does not import torch or backtrader."""

from typing import TYPE_CHECKING

from bt_attention_lstm.models.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from bt_attention_lstm.runners.research.walkforward.run import (
        WalkForwardConfig,
        WalkForwardPlan,
        WalkForwardResult,
        execute_walkforward,
        plan_walkforward,
        run_walkforward,
    )

_EXPORTS = {
    "WalkForwardConfig": "run",
    "WalkForwardPlan": "run",
    "WalkForwardResult": "run",
    "execute_walkforward": "run",
    "plan_walkforward": "run",
    "run_walkforward": "run",
}
__all__ = [
    "WalkForwardConfig",
    "WalkForwardPlan",
    "WalkForwardResult",
    "execute_walkforward",
    "plan_walkforward",
    "run_walkforward",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
