"""What ``neuralsolve check`` says a solve will do, from the problem's form alone: what an inverse
problem learns and what the answer will be measured against (nothing is computed or compiled)."""

from __future__ import annotations


def inverse_plan(problem) -> str:
    """What an inverse problem learns, and from what, in one line."""
    inv = problem.inverse
    true = {k: f", true value {v:g}" for k, v in (inv.exact or {}).items()}  # what its error is measured against
    parts = [f"{k} (start {u.initial:g}{', positive' if u.positive else ''}{true.get(k, '')})" for k, u in inv.unknowns.items()]
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
    plan = f"the data, not a reference solution: the misfit to {_trajectories(len(train), 'training')}"
    if held:
        plan += f" and the error on {_trajectories(len(held), 'held-out')} (holdout {holdout:g}), which training does not see"
    else:
        plan += " (holdout = 0: none held out to test on)"
    return plan + "; no equation residual (the equations are solved, not penalised)"


def _trajectories(n: int, kind: str) -> str:
    return f"{n} {kind} trajector{'y' if n == 1 else 'ies'}"


CLASSICAL = {"solve_ivp": "SciPy's solve_ivp", "solve_bvp": "SciPy's solve_bvp",
             "method of lines": "the spectral method of lines (Chebyshev or Fourier collocation in x, LSODA in t)",
             "spectral elements": "spectral elements and SciPy's eigensolver",
             "conserved quantities": "Newton's method on the conserved quantities (each equation is diff(Q, x) = 0)",
             "finite elements": "finite elements (P2 on Triangle meshes, scikit-fem)",
             "finite elements in space, TR-BDF2 in time": "finite elements in space (P2, scikit-fem) and TR-BDF2 in time"}  # fmt: skip


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
    if problem.inverse.hidden:
        return prefix + _discovered_plan(problem)
    if method is None:
        return prefix + ("none: no classical method fits this problem (docs/problem-files.md, Classical "
                         "references); only the equation residual is reported")  # fmt: skip
    estimated = " with the estimated constants" if problem.inverse.unknowns else ""
    return prefix + (f"a classical solution{estimated} by {CLASSICAL[method]}, computed by the solve (if that method "
                     "cannot take these equations or conditions, only the residual is reported)")  # fmt: skip


def _discovered_plan(problem) -> str:
    """The reference of a problem with hidden terms: the model its discovery will find, solved classically."""
    from ..problem.variants import with_discovered
    from ..reference.plan import classical_method

    if problem.inverse.discover is None:
        return ("none: a hidden term is a network, which no classical method solves ([discover] turns it into a "
                "formula that one can); only the equation residual and the data misfit are reported")  # fmt: skip
    probe = with_discovered(problem, {h: "0" for h in problem.inverse.hidden},
                            {k: u.initial for k, u in problem.inverse.unknowns.items()},
                            {f: 1.0 for f in problem.fields})  # fmt: skip
    method = None if probe is None else classical_method(probe)
    if method is None:
        return "none: no classical method fits the discovered model; only the equation residual is reported"
    start = "" if problem.arguments.get("conditions") else " from the network's values at the start"
    return f"the discovered formulas in place of the hidden terms, solved by {CLASSICAL[method]}{start}, after discovery"


def operator_plan(problem) -> list[str]:
    """What an operator problem's solve will do: the map learned, the data, the model, the measure."""
    from ..dispatch import prepare
    from ..reference.operators import generator_for

    op = problem.operator
    _, settings = prepare(problem, {})
    model, training = settings["model"], settings["training"]
    source = problem.fields[0] + "(t0)" if op.function is None else op.function
    target = problem.fields[0] + ("(t1)" if problem.domain.has_time else "")
    g = op.grf
    drawn = f"N(0, {g.sigma:g}^2 (-Laplacian + {g.tau:g}^2 I)^-{g.alpha:g})" + (f" mapped by {g.map}" if g.map else "")
    if op.file:
        data = f"data: {op.train} training and {op.test} test samples from {op.file}"
    else:
        method = {"Evolution": "an ETDRK4 pseudo-spectral solver", "Divergence": "second-order finite volumes"}
        data = (f"data: {op.train} training and {op.test} test samples generated by "
                f"{method[type(generator_for(problem)).__name__]} on {op.generate} points per axis (cached)")  # fmt: skip
    sizes = model.sizes(len(problem.domain.coords) - problem.domain.has_time)
    shown = ", ".join(k if v is True else f"{k} {v}" for k, v in sizes.items() if v is not False)
    resolutions = ", ".join(map(str, op.zero_shot)) or "none"
    batches = f"batches of {training.batch}" if training.batch < op.train else f"full batches of all {op.train} training samples"
    augmented = f", on pairs augmented by {' and '.join(training.augment)}" if training.augment else ""
    augmented += "; predictions averaged over these symmetries" if training.symmetrise else ""
    return [f"learns: the operator {source} -> {target}, inputs drawn from {drawn}", data,
            f"model: {model.kind} ({shown}), trained {training.epochs} epochs at resolution "
            f"{op.resolution or 'of the file'} in {batches} ({settings['precision']}){augmented}",
            f"reference: the test samples' outputs (relative L2 error per sample); zero-shot at {resolutions}"]  # fmt: skip


def rounding_plan(problem) -> list[str]:
    """One line per field whose start value's jumps at a periodic wrap the trial function rounds off
    (:mod:`neuralsolve.problem.wrap`)."""
    from ..problem.wrap import JUMP_TOLERANCE, wrap_jumps

    lines = []
    for w in wrap_jumps(problem):
        jumps = " and ".join(f"{what} {size:.3g}" for what, size in (("value", w.k), ("slope", w.j)) if abs(size) > JUMP_TOLERANCE)
        lines.append(f"start value of {problem.fields[w.field]}: its jump in {jumps} at the periodic wrap is rounded "
                     f"off as diffusion {w.d:g} would (docs/problem-files.md, periodic)")  # fmt: skip
    return lines


def march_plan(problem, windows: int) -> str:
    """What marching in ``windows`` time windows compiles (:mod:`neuralsolve.methods.march.window`)."""
    from ..methods.march.window import edges, later_problem, time_invariant

    cuts = edges(problem, windows)
    if windows == 2:
        how = "the second starts from the first's solution"
    elif time_invariant(later_problem(problem, cuts[1], cuts[2])):  # as plan() decides, without its sampling
        how = (f"the {windows - 1} after the first share one problem (nothing reads t but the fields) and compile "
               "their training once")  # fmt: skip
    else:
        how = "each is a problem of its own (t appears in an equation, a kept condition or a scale) and compiles its training"
    return f"marches: {windows} time windows; {how}"
