"""Audit workflow: is a trained model's edge on a data set real? Causality (no look-ahead),
out-of-sample overlap, PSR of its backtest and a surrogate-data test, each with a verdict.

    from bt_attention_lstm.runners.research.audit import AuditConfig, run_audit, audit_text
    result = run_audit(AuditConfig(model="path/to/model", data="prices.csv", start="2010-01-01"))
    print(audit_text(result))

Names are exported lazily: importing one module (``surrogates``) loads no engine.
"""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "AuditConfig": "config",
    "AuditResult": "job",
    "run_audit": "job",
    "audit_text": "report",
    "BacktestSummary": "core",
    "CausalityResult": "core",
    "OverlapResult": "core",
    "SurrogateResult": "core",
    "SURROGATE_METHODS": "surrogates",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
