"""Many solves: sweeps of a problem file over values and seeds, and tuning of its recipe, run in this
process or on Ray (the optional extra ``neuralsolve[cluster]``). See docs/sweeps.md."""
