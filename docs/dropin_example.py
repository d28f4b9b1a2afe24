"""Drop-in use: your own Cerebro, your own feed and analyzers, our strategy.

    python runners/train.py --data tests/data/orcl-1995-2014.txt --end 2009-12-31 \
        --out models/output/orcl
    python docs/dropin_example.py models/output/orcl tests/data/yhoo-1996-2014.txt
"""

import sys
from datetime import datetime

import backtrader as bt

from bt_attention_lstm.strategies import AttentionLSTMStrategy

model_dir, csv_path = sys.argv[1], sys.argv[2]

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
