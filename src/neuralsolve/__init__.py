"""neuralsolve: solve differential equations with neural networks, and know how accurate they are.

The public API is flat (``neuralsolve.solve``, ``neuralsolve.Problem``, ...). Names are imported on
first use, so that ``import neuralsolve`` — and the command line's ``--version`` — does not pay
for importing JAX until something needs it.
"""

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "NeuralsolveError": "._errors", "ProblemError": "._errors", "SpecError": ".spec.errors",
    "Points": ".loss.terms", "MLP": ".nn.mlp", "FourierFeatures": ".nn.features", "GaussianFeatures": ".nn.features",
    "Condition": ".problem.conditions", "Dirichlet": ".problem.conditions", "Initial": ".problem.conditions",
    "InitialRate": ".problem.conditions", "Neumann": ".problem.conditions", "Observations": ".problem.conditions",
    "Periodic": ".problem.conditions", "Robin": ".problem.conditions",
    "Box": ".problem.domain", "Disk": ".problem.domain", "Domain": ".problem.domain", "Interval": ".problem.domain",
    "Rectangle": ".problem.domain", "Shape2D": ".problem.domain", "SpaceTime": ".problem.domain",
    "Problem": ".problem.problem", "Solution": ".solution", "EigenSolution": ".methods.eigen.solution",
    "load": ".spec.load",
    "Eigen": ".problem.eigen", "Adaptive": ".train.weighting", "GradNorm": ".train.weighting",
    "Annealing": ".train.weighting", "Causal": ".train.weighting", "RAR": ".sampling.adaptive", "RAD": ".sampling.adaptive",
    "print_progress": ".dispatch", "solve": ".dispatch",
    "Adam": ".train.phases", "BFGS": ".train.phases", "LBFGS": ".train.phases", "SSBFGS": ".train.phases",
    "SSBroyden": ".train.phases", "RMSprop": ".train.phases", "AdaBelief": ".train.phases",
    "LevenbergMarquardt": ".train.phases",
    "Checkpoint": ".train.checkpoint", "ODE": ".methods.neural_ode.settings", "ODESolution": ".methods.neural_ode.solution",
    "Unknown": ".problem.inverse", "Data": ".problem.inverse", "Hidden": ".problem.inverse",
    "Discover": ".problem.inverse", "InverseSolution": ".methods.inverse.solution",
    "open": ".rundir", "save": ".rundir", "enable_compilation_cache": ".compile_cache",
    "Operator": ".problem.operator", "GRF": ".problem.operator", "FNO": ".methods.operator.settings",
    "DeepONet": ".methods.operator.settings", "MgNO": ".methods.operator.settings",
    "Training": ".methods.operator.settings", "OperatorSolution": ".methods.operator.solution",
}  # fmt: skip
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'neuralsolve' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(list(globals()) + __all__)


if TYPE_CHECKING:  # for type checkers and editors: the same names, eagerly
    from ._errors import NeuralsolveError, ProblemError  # noqa: F401
    from .loss.terms import Points  # noqa: F401
    from .nn.features import FourierFeatures, GaussianFeatures  # noqa: F401
    from .nn.mlp import MLP  # noqa: F401
    from .problem.conditions import (Condition, Dirichlet, Initial, InitialRate, Neumann,  # noqa: F401
                                     Observations, Periodic, Robin)
    from .problem.domain import Box, Disk, Domain, Interval, Rectangle, Shape2D, SpaceTime  # noqa: F401
    from .problem.eigen import Eigen  # noqa: F401
    from .problem.inverse import Data, Discover, Hidden, Unknown  # noqa: F401
    from .methods.inverse.solution import InverseSolution  # noqa: F401
    from .problem.problem import Problem  # noqa: F401
    from .methods.eigen.solution import EigenSolution  # noqa: F401
    from .solution import Solution  # noqa: F401
    from .sampling.adaptive import RAD, RAR  # noqa: F401
    from .train.weighting import Adaptive, Annealing, Causal, GradNorm  # noqa: F401
    from .dispatch import print_progress, solve  # noqa: F401
    from .spec.errors import SpecError  # noqa: F401
    from .spec.load import load  # noqa: F401
    from .rundir import open, save  # noqa: F401
    from .compile_cache import enable_compilation_cache  # noqa: F401
    from .train.checkpoint import Checkpoint  # noqa: F401
    from .train.phases import BFGS, LBFGS, SSBFGS, AdaBelief, Adam, LevenbergMarquardt, RMSprop, SSBroyden  # noqa: F401
    from .methods.neural_ode.settings import ODE  # noqa: F401
    from .methods.neural_ode.solution import ODESolution  # noqa: F401
    from .problem.operator import GRF, Operator  # noqa: F401
    from .methods.operator.settings import FNO, DeepONet, MgNO, Training  # noqa: F401
    from .methods.operator.solution import OperatorSolution  # noqa: F401
