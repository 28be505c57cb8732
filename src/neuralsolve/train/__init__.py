"""Training: optimiser phases, loss weighting, the fit loop and checkpoints; shared by every method family."""
