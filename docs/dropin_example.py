"""Drop-in use: your own Cerebro, your own feed and analyzers, our strategy.

    python runners/train.py --data models/datasets/orcl-1995-2014.txt --end 2009-12-31 \
        --out orcl-model
    python docs/dropin_example.py orcl-model [YAHOO_CSV]

YAHOO_CSV defaults to the YHOO sample file shipped in the package (``sample_path``), so the
script runs from any directory.
"""

import sys
from datetime import datetime

import backtrader as bt

from bt_attention_lstm.models.datasets import sample_path
from bt_attention_lstm.strategies import AttentionLSTMStrategy

model_dir = sys.argv[1]
csv_path = sys.argv[2] if len(sys.argv) > 2 else sample_path("yhoo-1996-2014.txt")

for mode in ({"runonce": True}, {"runonce": False}, {"preload": False}):
    cerebro = bt.Cerebro(**mode)
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=csv_path, fromdate=datetime(2010, 1, 1)))
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(AttentionLSTMStrategy, model_path=model_dir, threshold=0.1,
                        stop_loss=0.05, trail_percent=0.1)
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe", riskfreerate=0.0)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    strategy = cerebro.run()[0]
    print(mode, f"final value {cerebro.broker.getvalue():,.2f}",
          f"trades {len(strategy.trades)}",
          f"sharpe {strategy.analyzers.sharpe.get_analysis()['sharperatio']}",
          f"max drawdown {strategy.analyzers.drawdown.get_analysis().max.drawdown:.2f}%")
