"""The workflows as a library: one frozen config in, one result object out, no command line.

A notebook trains a model, backtests it and reads the report without argparse:

    from bt_attention_lstm.models.config import TrainConfig
    from bt_attention_lstm.runners.research import (
        BacktestConfig, TrainRunConfig, run_backtest, train)

    trained = train(TrainRunConfig(data="sample:orcl-1995-2014.txt", end="2009-12-31",
                                   training=TrainConfig(epochs=20)))
    result = run_backtest(BacktestConfig(data="sample:orcl-1995-2014.txt", model=trained.out,
                                         start="2010-01-01"))
    result.metrics["strategy"]["sharpe"], result.in_sample, len(result.trades)
    result.out  # tearsheet.html, metrics.json, returns.csv, trades.csv, chart.png

Each workflow writes into ``config.out``, or a fresh run folder under
``reports.run_dir.runs_root()`` when it is None (never the working directory), and says where in
``result.out``. Bad input raises ``ConfigError``/``DataError`` before anything is written; their
messages name the config's fields in backticks. The others follow the same shape:
``run_evaluation(EvaluateConfig)``, ``run_audit(AuditConfig)``,
``run_walkforward(WalkForwardConfig)``, ``run_sweep(SweepConfig)``, ``run_paper(PaperConfig)``.

Names are exported lazily: importing this package imports neither torch nor backtrader.
"""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "BacktestConfig": "backtest",
    "BacktestPlan": "backtest",
    "BacktestResult": "backtest",
    "execute_backtest": "backtest",
    "plan_backtest": "backtest",
    "run_backtest": "backtest",
    "train": "training",
    "TrainRunConfig": "training",
    "TrainingPlan": "training",
    "TrainResult": "training",
    "execute_training": "training",
    "plan_training": "training",
    "BrokerConfig": "cerebro",
    "CerebroRun": "cerebro",
    "run_cerebro": "cerebro",
    "EvaluateConfig": "evaluation",
    "EvaluationResult": "evaluation",
    "run_evaluation": "evaluation",
    "AuditConfig": "audit",
    "AuditResult": "audit",
    "run_audit": "audit",
    "WalkForwardConfig": "walkforward",
    "WalkForwardResult": "walkforward",
    "run_walkforward": "walkforward",
    "WalkForwardPlan": "walkforward",
    "plan_walkforward": "walkforward",
    "execute_walkforward": "walkforward",
    "SweepConfig": "sweep",
    "SweepResult": "sweep",
    "run_sweep": "sweep",
    "SweepPlan": "sweep",
    "plan_sweep": "sweep",
    "execute_sweep": "sweep",
    "PaperConfig": "paper",
    "PaperResult": "paper",
    "run_paper": "paper",
    "PaperPlan": "paper",
    "plan_paper": "paper",
    "execute_paper": "paper",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
