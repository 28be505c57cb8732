"""neuralsolve: solve differential equations with neural networks, and know how accurate they are."""

from ._errors import NeuralsolveError as NeuralsolveError
from ._errors import ProblemError as ProblemError
from .loss.terms import Points as Points
from .nn.mlp import MLP as MLP
from .problem.conditions import Condition as Condition
from .problem.conditions import Dirichlet as Dirichlet
from .problem.conditions import Initial as Initial
from .problem.conditions import InitialRate as InitialRate
from .problem.conditions import Neumann as Neumann
from .problem.conditions import Observations as Observations
from .problem.conditions import Periodic as Periodic
from .problem.conditions import Robin as Robin
from .problem.domain import Box as Box
from .problem.domain import Disk as Disk
from .problem.domain import Domain as Domain
from .problem.domain import Interval as Interval
from .problem.domain import Rectangle as Rectangle
from .problem.domain import SpaceTime as SpaceTime
from .problem.problem import Problem as Problem
from .solution import Solution as Solution
from .solve import print_progress as print_progress
from .solve import solve as solve
from .train.phases import BFGS as BFGS
from .train.phases import LBFGS as LBFGS
from .train.phases import Adam as Adam

__version__ = "0.1.0"
