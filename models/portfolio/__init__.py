"""Positions as returns: volatility targeting and the simple trading rules."""
