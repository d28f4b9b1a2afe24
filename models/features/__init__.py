"""The one feature definition (TA-Lib), its spec, its streaming form and the scaler."""
