"""Writing results: metrics, arrays, plots, reports."""
