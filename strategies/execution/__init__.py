"""Orders and their bookkeeping: the order lifecycle, trade records, feed roles, restart state."""
