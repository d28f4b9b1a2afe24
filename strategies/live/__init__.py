"""Live trading: the live-like feed, the LIVE gate, the paper broker, the session and its
decision log."""
