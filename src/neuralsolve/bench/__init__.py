"""Reference problems with trusted answers, for tests and benchmarks."""

from .cases import CASES as CASES
from .cases import Case as Case
