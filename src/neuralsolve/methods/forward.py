"""Forward problems: one physics-informed network trained on the whole problem at once."""

from __future__ import annotations

import jax

from ..loss.terms import term_names
from ..ops.derivatives import DEFAULT as DEFAULT_DERIVATIVES
from ..pinn.measure import METRICS, evaluate_metrics, exact_values, has_exact
from ..pinn.model import build_model
from ..pinn.settings import dtype_of, resolve_settings
from ..pinn.train import train_network
from ..problem.problem import Problem
from ..solution import Solution
from ..train.fit import FitResult, carry_template
from .base import Family, saved_outcome


class Forward(Family):
    """The default family: any problem that no other family takes."""

    name = "forward"
    metric_keys = METRICS
    multi_device = True  # train_network splits the points over settings["devices"]

    def accepts(self, problem: Problem, settings: dict) -> bool:
        return True

    def settings(self, problem: Problem, given: dict) -> dict:
        return resolve_settings(problem, given)

    def solve(self, problem: Problem, settings: dict, **run) -> Solution:
        return train_network(problem, settings, **run)

    def reopen(self, problem: Problem, settings: dict, checkpoint, saved: dict) -> Solution | None:
        if not checkpoint.exists():
            return None
        precision, seed = settings["precision"], settings["seed"]
        with jax.enable_x64(precision == "float64"):
            dtype = dtype_of(settings)
            model, params = build_model(problem, settings["network"], dtype, seed)
            state = checkpoint.load(lambda k: carry_template(settings["phases"][k], params, len(term_names(problem))))
            params = state.carry[3]
            # the solve's own figures; measured again only if it wrote none (a classical reference
            # is not recomputed)
            metrics = {k: saved.get(k) for k in self.metric_keys} if saved else \
                evaluate_metrics(problem, model, params, seed, DEFAULT_DERIVATIVES, dtype)  # fmt: skip
        fit = FitResult(params, state.history, state.phases, *saved_outcome(saved))
        exact = exact_values(problem) if has_exact(problem) else None  # cheap: no classical solve
        return Solution(model, params, problem.fields, problem.domain.coords, precision, fit=fit, metrics=metrics,
                        term_names=term_names(problem), reference=exact)  # fmt: skip


FAMILY = Forward()
