"""Reference problems with trusted answers, for tests and benchmarks.

``CASES`` are the accuracy tests' problems; ``BENCHMARKS`` and their ``RECIPES`` are what
``neuralsolve bench`` runs (docs/benchmarks.md); ``INVERSE_BENCHMARKS`` (unknown constants from
data) run when named.
"""

from .cases import CASES as CASES
from .cases import Case as Case
from .problems import BENCHMARKS as BENCHMARKS
from .problems import INVERSE_BENCHMARKS as INVERSE_BENCHMARKS
from .problems import Benchmark as Benchmark
from .recipes import RECIPES as RECIPES
from .recipes import Recipe as Recipe
