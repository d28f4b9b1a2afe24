"""The workflows behind the runners (training, reporting, audit, walk-forward, sweep), importable
from a notebook without going through a command line."""
