"""The one exception hierarchy of neuralsolve.

A problem the user can fix (bad equation, unknown symbol, condition outside the domain) raises
:class:`ProblemError` before anything is compiled. Numerical failures during training are not
exceptions: they are reported in :attr:`neuralsolve.Solution.status`.
"""


class NeuralsolveError(Exception):
    """Base class of every exception raised by neuralsolve."""


class ProblemError(NeuralsolveError, ValueError):
    """The problem as given cannot be solved: the message names the cause and how to fix it."""
