"""Shared test data.

Test modules import constants from here (``from conftest import ...``): pytest puts this folder on
``sys.path`` to load this file, and a fixture cannot feed module-level ``parametrize`` lists.
"""

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
