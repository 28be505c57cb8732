"""Shared test data.

Test modules import constants from here (``from conftest import ...``): pytest puts this folder on
``sys.path`` to load this file, and a fixture cannot feed module-level ``parametrize`` lists.
"""

import os

# Tests leave JAX's persistent compilation cache off (the command line turns it on by default):
# nothing outside the checkout is written, and no test depends on an earlier run.
# tests/test_first_answer.py turns it on, in a folder of its own, where it tests the cache.
os.environ["NEURALSOLVE_CACHE_DIR"] = "off"

# The head of a valid problem file (1D Poisson, u = 0 on the boundary). Tests append one table to
# it, so the appended table's first line is line 12: error messages cite these line numbers.
POISSON_1D = """\
name = "Poisson 1D"
fields = ["u"]
equations = ["-diff(u, x, 2) = pi**2*sin(pi*x)"]

[domain]
x = [-1, 1]

[[conditions]]
on = "boundary"
set = "u = 0"
"""
