"""What ``neuralsolve check`` says a solve will do, from the problem's form alone: what an inverse
problem learns and what the answer will be measured against (nothing is computed or compiled)."""

from __future__ import annotations


def inverse_plan(problem) -> str:
    """What an inverse problem learns, and from what, in one line."""
    inv = problem.inverse
    parts = [f"{k} (start {u.initial:g}{', positive' if u.positive else ''})" for k, u in inv.unknowns.items()]
    parts += [f"{k}({', '.join(h.inputs)}) as a network" for k, h in inv.hidden.items()]
    rows = sum(len(d.points) for d in inv.data)
    learned = ", ".join(parts) or "the fields"
    found = f"; formulas from {inv.discover.terms if isinstance(inv.discover.terms, str) else 'the listed'} terms" \
        + (f" up to degree {inv.discover.degree}" if inv.discover.terms == "polynomial" else "") if inv.discover else ""
    return f"{learned}, from {len(inv.data)} data set(s) of {rows} row(s){found}"


def trajectory_plan(problem, settings: dict) -> str:
    """What a neural ODE is measured against: its data, split as the solve will split it."""
    from ..methods.neural_ode.series import gather, split

    count, holdout = len(gather(problem)), settings["ode"].holdout
    train, held = split(count, holdout, settings["seed"])  # a ProblemError if none would be left to train on
    plan = f"the data, not a reference solution: the misfit to {len(train)} training trajectories"
    if held:
        some = f"{len(held)} held-out trajector{'y' if len(held) == 1 else 'ies'}"
        plan += f" and the error on {some} (holdout {holdout:g}), which training does not see"
    else:
        plan += " (holdout = 0: none held out to test on)"
    return plan + "; no equation residual (the equations are solved, not penalised)"


CLASSICAL = {"solve_ivp": "SciPy's solve_ivp", "solve_bvp": "SciPy's solve_bvp",
             "method of lines": "the method of lines (finite differences in x, SciPy's stiff integrators in t)",
             "spectral elements": "spectral elements and SciPy's eigensolver"}  # fmt: skip


def reference_plan(problem) -> str:
    """What the solve will measure its answer against, said from the problem's form alone: the
    classical reference itself is computed only by ``solve`` (check stays fast and imports no SciPy)."""
    from ..reference.plan import classical_method, eigen_method

    eigen = problem.eigen is not None
    exact_eigenvalue = eigen and getattr(problem, "exact_eigenvalue", None) is not None
    given = list(problem.exact) + ([problem.eigen.symbol] if exact_eigenvalue else [])
    if given and (exact_eigenvalue if eigen else len(problem.exact) == len(problem.fields)):
        return "the exact solution ([exact])"
    prefix = f"the exact solution ([exact]) for {', '.join(given)}; otherwise " if given else ""
    if problem.reference == "none":
        return prefix + "none ([reference] solver = \"none\"): only the equation residual is reported"
    method = eigen_method(problem) if eigen else classical_method(problem)
    if method is None:
        return prefix + ("none: no classical method fits this problem (docs/problem-files.md, Classical "
                         "references); only the equation residual is reported")  # fmt: skip
    estimated = " with the estimated constants" if problem.inverse.unknowns else ""
    return prefix + (f"a classical solution{estimated} by {CLASSICAL[method]}, computed by the solve (if that method "
                     "cannot take these equations or conditions, only the residual is reported)")  # fmt: skip
