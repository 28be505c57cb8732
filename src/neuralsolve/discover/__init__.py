"""Hidden terms -> formulas: sparse regression over a library of candidate terms (on PySINDy)."""

from .sparse import Formula, candidate_terms, regress

__all__ = ["Formula", "candidate_terms", "regress"]
