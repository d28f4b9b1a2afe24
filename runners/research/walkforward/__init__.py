"""Walk-forward workflow: fold plan, one fold, stitching and the report."""
