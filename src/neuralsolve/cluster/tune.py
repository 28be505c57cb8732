"""Tuning a problem file's recipe with Ray Tune: random search over :data:`SPACE`, trials stopped
early by ASHA, the best recipe written as a ``[solver]`` table ready to paste.

A trial is an ordinary run directory (``trials/<id>`` under the tuning folder) solved with the
trial's settings. While it trains it reports, every 100 steps, the sum of its unweighted loss terms
(mean squares of the residuals and conditions on its points: comparable whatever the weighting);
ASHA stops the trials whose sum is worst at the same step. A trial that ends reports its error
against the problem's reference (or, without one, its residual RMS) and its time; the best recipe is
the one of lowest error among the trials that ended.
"""

from __future__ import annotations

import functools
import math
import os
import pathlib
import time
import tomllib

from .. import rundir
from .._errors import ProblemError
from .engines import connect

# The search space, by [solver] setting. The scales multiply the file's own recipe: its interior
# point count, and the step budgets of its two phases — Adam (whose learning rate is searched too),
# then the file's last phase method if it is not Adam (else L-BFGS).
SPACE = {
    "network.width": [16, 32, 64, 96],
    "network.depth": [2, 3, 4],
    "points.scale": [0.5, 1.0, 2.0],
    "adam.scale": [0.5, 1.0, 2.0],
    "adam.learning_rate": (1e-4, 1e-2),  # log-uniform
    "second.scale": [0.5, 1.0, 2.0],
    "weighting": ["fixed", "adaptive"],
    "features": ["none", "fourier-1", "fourier-2"],  # Fourier features of 64 frequencies, sigma 1 or 2
}
REPORT_EVERY = 100  # steps between a trial's reports (its progress records)


def parse_budget(text: str) -> float:
    """``"20m"``, ``"90s"``, ``"1.5h"`` or seconds -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        value = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise ProblemError(f"--budget {text!r}: expected a time such as 20m, 90s or 1.5h")
    return value


def base_table(file) -> tuple[str, dict]:
    """The problem file's text and its resolved ``[solver]`` table (every default written out)."""
    from ..dispatch import prepare
    from ..spec.dump import solver_table
    from ..spec.load import load

    problem = load(file)
    if problem.operator is not None or problem.eigen is not None:
        raise ProblemError(f"{file}: tune handles physics-informed solves (forward and inverse problems) for now")
    _, settings = prepare(problem, {})
    if settings.get("method") not in (None, "pinn"):
        raise ProblemError(f"{file}: tune handles physics-informed solves, not method {settings['method']!r}")
    return pathlib.Path(file).read_text(), solver_table(settings)


def recipe(base: dict, config: dict) -> dict:
    """The ``[solver]`` table of a trial: ``base`` with the trial's choices written in."""
    table = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    network = table.setdefault("network", {})
    network.update({"width": config["network.width"], "depth": config["network.depth"]})
    network.pop("features", None)
    if config["features"] != "none":
        network["features"] = {"kind": "fourier", "count": 64, "sigma": float(config["features"].split("-")[1])}
    points = table.setdefault("points", {})
    points["interior"] = max(16, round(points.get("interior", 1000) * config["points.scale"]))
    adam, second = phase_budgets(table.get("phases", []))
    table["phases"] = [{"method": "adam", "steps": max(1, round(adam["steps"] * config["adam.scale"])),
                        "learning_rate": config["adam.learning_rate"]},
                       {**second, "steps": max(1, round(second["steps"] * config["second.scale"]))}]  # fmt: skip
    table["weighting"] = config["weighting"]
    return table


def phase_budgets(phases: list[dict]) -> tuple[dict, dict]:
    """The file's Adam phase (its first; 1000 steps if it has none) and second phase (its last
    phase that is not Adam; L-BFGS with 5000 steps if it has none), as problem-file tables."""
    adams = [p for p in phases if p.get("method") == "adam"]
    others = [p for p in phases if p.get("method") != "adam"]
    return (dict(adams[0]) if adams else {"method": "adam", "steps": 1000},
            dict(others[-1]) if others else {"method": "lbfgs", "steps": 5000})


def problem_text(text: str, solver: dict, note: str) -> str:
    """The problem file ``text`` with its ``[solver]`` table replaced by ``solver``."""
    from ..spec.dump import to_toml

    table = tomllib.loads(text)
    table["solver"] = solver
    return f"# {note}\n" + to_toml(table)


def trial(config: dict, *, file: str, text: str, base: dict, out: str) -> None:
    """A Tune trial: solve the problem with the trial's recipe in its own run directory, reporting
    progress to Tune (which may stop it) and, at the end, the error and time."""
    from ray import tune

    from ..compile_cache import enable_compilation_cache

    enable_compilation_cache()
    try:
        _trial(config, file, text, base, pathlib.Path(out) / "trials" / tune.get_context().get_trial_id())
    except ProblemError as err:  # a recipe the problem refuses: the trial fails with the cause, not a traceback
        raise RuntimeError(str(err)) from None


def _trial(config: dict, file: str, text: str, base: dict, directory: pathlib.Path) -> None:
    from ray import tune

    from ..dispatch import prepare, solve
    from ..report.sweep import headline_error
    from ..train.checkpoint import Checkpoint

    solver = recipe(base, config)
    rundir.create(directory, file, text=problem_text(text, solver, f"a trial of tuning {file}"))
    problem, kwargs = rundir.settings(directory)
    family, settings = prepare(problem, kwargs)
    started = time.monotonic()

    def progress(record: dict) -> None:
        tune.report({"objective": float(sum(record["terms"])), "step": record["step"]})

    sol = solve(problem, **kwargs, callback=progress, log_every=REPORT_EVERY, checkpoint=Checkpoint(directory, every=60))
    metrics, _ = rundir.finish(directory, problem, family, sol, kwargs["seed"], report=False)
    error = headline_error(metrics)
    tune.report({"objective": float(sum(sol.history[-1]["terms"])) if sol.history else math.inf,
                 "error": error if error is not None else metrics.get("residual_rms"), "status": metrics["status"],
                 "time": time.monotonic() - started, "steps": metrics["steps"]})  # fmt: skip


def search_space():
    """:data:`SPACE` as Tune's sampling domains."""
    from ray import tune

    return {k: tune.loguniform(*v) if isinstance(v, tuple) else tune.choice(v) for k, v in SPACE.items()}


def run(file, budget: float, out, *, samples: int | None = None, workers: int | None = None,
        address: str | None = None, seed: int = 0, on_trial=None) -> dict:  # fmt: skip
    """Tune ``file``'s recipe for ``budget`` seconds; returns the record written to ``tune.json``
    (``trials``, ``best``, ``recipe`` as a [solver] table)."""
    import logging

    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    text, base = base_table(file)
    out = pathlib.Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = connect(address, workers)
    try:
        # trials are drawn as places free up, not hundreds ahead (the budget would never start them)
        os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", str(workers or int(ray.cluster_resources().get("CPU", 1))))
        adam, second = phase_budgets(base.get("phases", []))
        steps = max(SPACE["adam.scale"]) * adam["steps"] + max(SPACE["second.scale"]) * second["steps"]
        tuner = tune.Tuner(
            tune.with_resources(functools.partial(trial, file=str(pathlib.Path(file).resolve()), text=text, base=base,
                                                  out=str(out)), {"cpu": 1}),  # fmt: skip
            param_space=search_space(),
            tune_config=tune.TuneConfig(
                metric="objective", mode="min", num_samples=samples or 10_000, time_budget_s=budget,
                scheduler=ASHAScheduler(time_attr="training_iteration", max_t=int(steps // REPORT_EVERY) + 2,
                                        grace_period=5, reduction_factor=3),
                search_alg=BasicVariantGenerator(random_state=seed), max_concurrent_trials=workers),
            run_config=tune.RunConfig(storage_path=str(out / "ray"), name="tune", verbose=0,
                                      callbacks=[_Lines(on_trial)] if on_trial else None))  # fmt: skip
        logging.getLogger("ray.tune").setLevel(logging.ERROR)  # not its warnings for trials the budget never started
        grid = tuner.fit()
    finally:
        if started:
            ray.shutdown()
    record = summarise(grid, base, file, budget)
    rundir.write_json(out / "tune.json", record)
    return record


def summarise(grid, base: dict, file, budget: float) -> dict:
    """The trials (choices, outcome, error, time) and the best recipe among those that ended."""
    trials = []
    for result in grid:
        metrics = result.metrics or {}
        if "objective" not in metrics and not result.error:
            continue  # never reported: the budget ran out before it began (Tune's "done" is not ours)
        ended = "status" in metrics  # only the report of a trial that ended has its status
        trials.append({"config": result.config or {}, "outcome": "error" if result.error else ("ended" if ended else "stopped"),
                       "message": str(result.error).strip().splitlines()[-1] if result.error else None,
                       "error": metrics.get("error") if ended else None, "status": metrics.get("status"),
                       "time": metrics.get("time"), "step": metrics.get("steps") if ended else metrics.get("step"),
                       "objective": metrics.get("objective")})  # fmt: skip
    ended = [t for t in trials if t["error"] is not None and t["status"] == "ok"]
    best = min(ended, key=lambda t: (t["error"], t["time"])) if ended else None
    return {"file": str(file), "budget_s": budget, "space": {k: list(v) for k, v in SPACE.items()}, "trials": trials,
            "best": best, "recipe": recipe(base, best["config"]) if best else None}  # fmt: skip


class _Lines:
    """A Tune callback that hands each ended or stopped trial to ``on_trial(trial_record)``."""

    def __new__(cls, on_trial):
        from ray.tune import Callback

        class Lines(Callback):
            def on_trial_complete(self, iteration, trials, trial, **info):
                on_trial(trial.config, trial.last_result or {})

        return Lines()
