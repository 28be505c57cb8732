"""The report's section for an inverse solve, rendered from the saved data of a run directory: the
estimates with standard errors and true values; the data against the fitted solution; each
discovered formula against its network."""

from __future__ import annotations

import html
import pathlib

import numpy as np

from .._errors import ProblemError
from . import mathml, trajectories
from .inverse import HIDDEN, PREDICTED, finite, formula_name, inputs_along
from .page import Figure, figure, plain, sci

STDERR_METHODS = {
    "classical sensitivities": "Standard errors from the sensitivities of a classical solution of the equations to "
                               "each constant: the standard error of nonlinear least squares.",
    "gauss-newton (network)": "Standard errors from a Gauss–Newton approximation over every trained parameter, the "
                              "network's included: an approximation, which depends on the weight training gave the "
                              "equations.",
    "gauss-newton (ODE sensitivities)": "Standard errors from a Gauss–Newton approximation: the sensitivities of the "
                                        "solved trajectories to each constant and free initial state.",
    "gauss-newton (ODE sensitivities; hidden networks held fixed)": "Standard errors from a Gauss–Newton "
        "approximation: the sensitivities of the solved trajectories to each constant and free initial state, the "
        "hidden networks held fixed (so they leave out the networks' uncertainty).",
}  # fmt: skip


def section(out: pathlib.Path, problem, metrics: dict, data) -> tuple[str, list[pathlib.Path]]:
    """The HTML of the estimates, data and discovered formulas of an inverse solve, with the PNG
    files it inlines (written to ``out``)."""
    parts: list[str] = []
    figures: list[Figure] = []
    if metrics.get("unknowns"):
        figures.append(_estimates_plot(out, problem, metrics))
        parts += [estimates(problem, metrics), figure(figures[-1])]
    if trajectories.saved(data):  # several trajectories of a learned ODE: one curve per field would mix them
        text, shown = trajectories.section(out, problem, metrics, data)
        figures += shown
        parts.append(text)
    else:
        parts.append(misfits(problem, metrics))
        shown, note = data_plots(out, problem, data)
        figures += shown
        parts += [*map(figure, shown), note]
    if metrics.get("discovered"):
        parts.append(formulas(problem, metrics))
        shown, note = hidden_plots(out, problem, metrics, data)
        figures += shown
        parts += [*map(figure, shown), note]
    return "\n".join(p for p in parts if p), [f.path for f in figures]


def estimates(problem, metrics: dict) -> str:
    """The table of estimates: standard error, true value and relative error of each constant."""
    stderr, errors = metrics.get("unknowns_stderr") or {}, metrics.get("unknown_errors") or {}
    exact = problem.inverse.exact
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td class='num'>{_number(v)}</td>"
                   f"<td class='num'>{sci(stderr.get(k))}</td><td class='num'>{_number(exact.get(k))}</td>"
                   f"<td class='num'>{sci(errors.get(k))}</td></tr>" for k, v in metrics["unknowns"].items())  # fmt: skip
    notes = [STDERR_METHODS.get(metrics.get("unknowns_stderr_method"), "No standard errors were computed.")]
    if metrics.get("reference") == "classical":  # the Accuracy section's reference is solved with these estimates
        notes.append("The classical reference under Accuracy solves the equations with these estimates.")
    return ("<table class='metrics unknowns'><caption>Estimated constants</caption><thead><tr><th>unknown</th>"
            "<th>estimate</th><th>standard error</th><th>true value</th><th>relative error</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><p>{' '.join(notes)}</p>")  # fmt: skip


def _number(value) -> str:
    """An estimate or true value: 10 significant digits (a result, not an error); "—" for none."""
    return f"{value:.10g}".replace("-", "−") if finite(value) else "—"


def _estimates_plot(out: pathlib.Path, problem, metrics: dict) -> Figure:
    from .inverse_plots import estimates_figure, save

    names = list(metrics["unknowns"])
    stderr = [(metrics.get("unknowns_stderr") or {}).get(k) for k in names]
    plot = estimates_figure(names, [metrics["unknowns"][k] for k in names], [v if finite(v) else None for v in stderr],
                            [problem.inverse.exact.get(k) for k in names])  # fmt: skip
    caption = ("<strong>Estimated constants</strong>, one row each on its own scale: the estimate (circle) with a bar "
               "of ± 2 standard errors (about 95% if the errors are normal) and the true value (cross) where [exact] "
               "gives it.")  # fmt: skip
    return Figure(save(plot, out / "unknowns.png"), caption)


def misfits(problem, metrics: dict) -> str:
    """Each measured field's RMS misfit to the data: the network model's, and the formula model's
    after verification."""
    network, formula = metrics.get("data_misfit_rms") or {}, metrics.get("discovered_misfit_rms") or {}
    if not network:  # no data (a hidden term alone), or a solve that measured none
        return ""
    counts = {f: sum(int(np.isfinite(d.values[:, j]).sum()) for d in problem.inverse.data)
              for j, f in enumerate(problem.fields)}  # fmt: skip
    head = "<th>field</th><th>measurements</th><th>misfit RMS"
    head += " (network model)</th><th>misfit RMS (formula model)</th>" if formula else "</th>"
    rows = "".join(f"<tr><th>{html.escape(f)}</th><td class='num'>{counts.get(f, '—')}</td><td class='num'>{sci(v)}</td>"
                   + (f"<td class='num'>{sci(formula.get(f))}</td>" if formula else "") + "</tr>"
                   for f, v in network.items())  # fmt: skip
    return ("<table class='metrics misfit'><caption>Misfit to the data (root mean square, in the field's units)"
            f"</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip


def measured_fields(problem) -> list[int]:
    """Indices of the fields some data set measures."""
    data = problem.inverse.data
    return [j for j in range(len(problem.fields)) if any(np.isfinite(d.values[:, j]).any() for d in data)]


def data_plots(out: pathlib.Path, problem, data) -> tuple[list[Figure], str]:
    """The data against the fitted solution: along the coordinate (one coordinate), else predicted
    against measured; and a note where a plot could not be drawn from the saved data."""
    if problem.domain.dim == 1:
        return [_data_curve(out, problem, data, j) for j in measured_fields(problem)], ""
    keys = [PREDICTED.format(k) for k in range(1, len(problem.inverse.data) + 1)]
    if not all(k in data for k in keys):
        return [], "<p>The predictions at the data points were not saved by this run, so no plot of the data is shown.</p>"
    return [_data_scatter(out, problem, [data[k] for k in keys])], ""


def _data_curve(out: pathlib.Path, problem, data, j: int) -> Figure:
    """Field ``j``'s fitted curve along the one coordinate, with its measurements."""
    from .inverse_plots import data_curve_figure, save

    field, coord = problem.fields[j], problem.domain.coords[0]
    sets = [(d.name, d.points[:, 0], d.values[:, j]) for d in problem.inverse.data]
    plot = data_curve_figure(field, coord, data["points"][:, 0], data["values"][:, j], sets)
    caption = (f"<strong>{html.escape(field)}</strong>: the fitted solution (line) on an even grid in "
               f"{html.escape(coord)} and the measurements (points), one marker per data file.")  # fmt: skip
    return Figure(save(plot, out / f"data_{field}.png"), caption)


def _data_scatter(out: pathlib.Path, problem, predicted: list) -> Figure:
    """Predicted against measured, one panel per measured field; ``predicted``: per data set."""
    from .inverse_plots import data_scatter_figure, save

    names = [problem.fields[j] for j in measured_fields(problem)]
    pairs = {f: [(d.name, d.values[:, j], p[:, j]) for d, p in zip(problem.inverse.data, predicted)]
             for j, f in enumerate(problem.fields) if f in names}  # fmt: skip
    caption = ("<strong>Data</strong>: the fitted solution at each measurement point against the measurement, one "
               "panel per measured field; on the dashed line they agree.")  # fmt: skip
    return Figure(save(data_scatter_figure(names, pairs), out / "data_fit.png"), caption)


def formulas(problem, metrics: dict) -> str:
    """Each discovered formula as mathematics, the regression's before the verification refit, how
    well it matched the network, and the verification's outcome."""
    ns = mathml.display_namespace(problem)
    before, misfit = metrics.get("discovered_regression") or {}, metrics.get("hidden_formula_misfit") or {}
    items = []
    for name, text in metrics["discovered"].items():
        inputs = problem.inverse.hidden[name].inputs if name in problem.inverse.hidden else ()
        body = mathml.assignment(name, text, ns, inputs) + f"<div class='source'><code>{html.escape(text)}</code></div>"
        if name in before and before[name] != text:
            body += f"<p>Before the verification refit (sparse regression): <code>{html.escape(before[name])}</code>.</p>"
        if finite(misfit.get(name)):
            body += f"<p>Relative misfit of the regression to the hidden network's values: {sci(misfit[name])}.</p>"
        items.append(f"<dt>{html.escape(formula_name(problem, name))}</dt><dd>{body}</dd>")
    verification = plain(metrics.get("verification") or "not run")
    return f"<h3>Discovered formulas</h3><dl class='problem'>{''.join(items)}</dl><p>Verification: {verification}.</p>"


def hidden_plots(out: pathlib.Path, problem, metrics: dict, data) -> tuple[list[Figure], str]:
    """Each hidden term's network against its formula along the fitted solution (the formula alone
    where this run saved no network values), and a note of what is not shown."""
    shown, missing = [], []
    for name, text in metrics["discovered"].items():
        network = data[HIDDEN.format(name)] if HIDDEN.format(name) in data else None
        formula = _formula_values(problem, name, text, data["points"], data["values"])
        if formula is None or (network is None and problem.domain.dim > 1):
            missing.append(formula_name(problem, name))
            continue
        shown.append(_hidden_plot(out, problem, name, data["points"], network, formula))
    if not missing:
        return shown, ""
    return shown, ("<p>Not plotted (the hidden network's values were not saved by this run, or the formula is not "
                   f"finite along the solution): {html.escape(', '.join(missing))}.</p>")  # fmt: skip


def _hidden_plot(out: pathlib.Path, problem, name: str, points, network, formula) -> Figure:
    """One coordinate: the network and the formula along it; more: the formula against the network."""
    from .inverse_plots import hidden_curve_figure, hidden_scatter_figure, save

    label, coord = html.escape(formula_name(problem, name)), problem.domain.coords[0]
    if problem.domain.dim > 1:
        plot = hidden_scatter_figure(formula_name(problem, name), network, formula)
        caption = (f"<strong>{label}</strong>: the discovered formula against the hidden network at the report's "
                   "grid points, both evaluated at the fitted fields; on the dashed line they agree.")  # fmt: skip
        return Figure(save(plot, out / f"hidden_{name}.png"), caption)
    plot = hidden_curve_figure(formula_name(problem, name), coord, points[:, 0], network, formula)
    shows = "the hidden network (solid) and " if network is not None else ""
    caption = (f"<strong>{label}</strong> along the fitted solution, against {html.escape(coord)}: {shows}the "
               "discovered formula (dashed), each evaluated at the fitted fields.")  # fmt: skip
    if network is None:
        caption += " The network's curve is not shown: this run did not save the hidden network's values."
    return Figure(save(plot, out / f"hidden_{name}.png"), caption)


def _formula_values(problem, name: str, text: str, points, values) -> np.ndarray | None:
    """The formula ``text`` at the fitted solution (NaN outside the domain); None where it cannot
    be evaluated there."""
    from ..discover.sparse import evaluate_terms

    hidden = problem.inverse.hidden.get(name)
    if hidden is None:
        return None
    x = inputs_along(hidden.inputs, problem.domain.coords, problem.fields, points, values)
    ok = np.all(np.isfinite(x), axis=1)
    out = np.full(len(x), np.nan)
    try:
        out[ok] = evaluate_terms([text], hidden.inputs, x[ok])[:, 0]
    except ProblemError:  # not finite somewhere along the solution: no curve to draw
        return None
    return out
