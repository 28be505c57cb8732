"""Loss terms: equation residuals, condition penalties and data misfits at collocation points."""
