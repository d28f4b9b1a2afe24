"""Evaluation workflow: does the default model earn its place on this data? Nested CV against
baselines, out-of-sample log-loss against the prior, and out-of-sample trading against
buy-and-hold, an SMA crossover and time-series momentum, over several training seeds.

    from bt_attention_lstm.runners.research.evaluation import (
        EvaluateConfig, format_report, run_evaluation)
    result = run_evaluation(EvaluateConfig(data=["synthetic:planted"], seeds=1))
    print(format_report(result.datasets))

Names are exported lazily: importing one module loads only what it needs.
"""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "EvaluateConfig": "config",
    "EvaluationResult": "job",
    "run_evaluation": "job",
    "EvalSettings": "core",
    "evaluate_dataset": "core",
    "load_dataset": "datasets",
    "dataset_text": "report",
    "format_report": "report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
