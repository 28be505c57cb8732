"""report.html: one self-contained page (plots inlined, no script, font or network) that states
the problem as mathematics, the verdict, the errors against a named reference, the settings used
and the plots with captions. Rendered from the saved data of a run directory only.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import math
import pathlib
import re
from typing import NamedTuple

from .. import dispatch
from ..loss.terms import Points
from ..problem.conditions import (Condition, Dirichlet, InitialRate, Neumann, Observations, Periodic,
                                  Robin)  # fmt: skip
from ..problem.domain import TIME, Plane, Round, Segment
from ..train.phases import PHASES
from . import mathml

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1b1b1b;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.status{padding:.8em 1em;border-radius:6px;margin:1em 0;font-size:1.1em;border:2px solid}
.status.ok{background:#eef8ee;border-color:#4a9a4a}.status.warn{background:#fff1e6;border-color:#d9480f;color:#7a1f00}
table{border-collapse:collapse;margin:.6em 0 1.2em}th,td{padding:.3em .8em;border-bottom:1px solid #e3e3e3;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}thead th{border-bottom:2px solid #bbb}
caption{caption-side:top;text-align:left;color:#444;padding-bottom:.3em}
dl.problem dt{font-weight:600;margin-top:.8em}dl.problem dd{margin-left:1.2em}
.source{color:#666;font-size:.85em}math{font-size:1.15em}math.eq{math-style:normal;font-size:1.3em;display:block;margin:.4em 0}
caption{white-space:nowrap}
figure{margin:1.5em 0}figure img{max-width:100%}figcaption{color:#333;font-size:.95em;max-width:900px}
"""

METHOD_NAMES = {"adam": "Adam", "rmsprop": "RMSprop", "adabelief": "AdaBelief", "lbfgs": "L-BFGS", "bfgs": "BFGS", "ssbfgs": "SSBFGS", "ssbroyden": "SSBroyden", "lm": "Levenberg–Marquardt"}


class Figure(NamedTuple):
    """A plot of the report and its caption."""

    path: pathlib.Path
    caption: str


def page(problem, metrics: dict, figures: list[Figure], estimates: str = "", measured: str | None = None) -> str:
    """The whole report.html; ``estimates``: an inverse solve's results (HTML, its plots inlined),
    shown before the accuracy as they are what such a solve is for; ``measured``: the Accuracy
    section's HTML where a solve is measured otherwise than against a reference and a residual
    (a learned ODE, by its data); figures named ``*_history`` go under Training."""
    title = html.escape(str(metrics.get("problem") or problem.name))
    body = [f"<h1>{title}</h1>", status(metrics), "<h2>Problem</h2>", problem_section(problem)]
    if estimates:
        body += ["<h2>Estimates and data</h2>", estimates]
    body += ["<h2>Accuracy</h2>", accuracy(problem, metrics) if measured is None else measured]
    solution = [f for f in figures if not _training(f)]
    if solution:
        body += ["<h2>Solution</h2>", *map(figure, solution)]
    body += ["<h2>Training</h2>", settings(problem, metrics), phases(metrics)]
    body += [figure(f) for f in figures if _training(f)]
    return document(title, body)


def document(title: str, body: list[str]) -> str:
    """A whole self-contained page: ``title`` (HTML, escaped by the caller) and the ``body`` parts."""
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")  # fmt: skip


def _training(fig: Figure) -> bool:
    """Whether a plot shows training (the loss history, a learned ODE's solver cost) rather than the solution."""
    return fig.path.stem.endswith("_history")


# --- numbers ---------------------------------------------------------------------------------------


def sci(value) -> str:
    """A number to 3 significant digits in scientific notation (``2.56 × 10⁻⁹`` in HTML); "—" for
    a missing one."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "—"
    if not math.isfinite(value):
        return "NaN" if value != value else ("∞" if value > 0 else "−∞")
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.replace("-", "−")
    return mantissa if int(exponent) == 0 else f"{mantissa} × 10<sup>{int(exponent):d}</sup>".replace("-", "−")


def plain(value) -> str:
    """A setting's value as written (``0.001``, ``2000``, ``sobol``)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return html.escape(str(value))


# --- sections --------------------------------------------------------------------------------------


def status(metrics: dict) -> str:
    """The verdict, first and prominent; anything but "ok" in a warning style."""
    state = str(metrics.get("status") or "unknown")
    ok = state == "ok"
    sign = "" if ok else "⚠ "
    text = f"<strong>{sign}{html.escape(state)}</strong>"
    if metrics.get("message"):
        text += f" — {html.escape(str(metrics['message']))}"
    verdict = metrics.get("verdict")
    if isinstance(verdict, dict):
        text += "<br>" + "; ".join(f"{html.escape(str(k))}: {_verdict_value(v)}" for k, v in verdict.items())
    elif verdict is not None:
        text += f"<br>{html.escape(str(verdict))}"
    return f"<div class='status {'ok' if ok else 'warn'}' role='status'>{text}</div>"


def _verdict_value(value) -> str:
    return sci(value) if isinstance(value, float) else html.escape(str(value))


def problem_section(problem) -> str:
    """Equations, domain, conditions, parameters, helper functions and exact solution, as mathematics."""
    args = problem.arguments
    ns = mathml.display_namespace(problem, extra=("n",) if problem.unknowns else ())
    items = [("Equations" if len(problem.equations) > 1 else "Equation", "".join(_equation(e, ns) for e in problem.equations))]
    items.append(("Domain", domain(problem)))
    conditions = args.get("conditions") or []
    if conditions:
        rows = "".join(f"<li>{condition(problem, c, i + 1, ns)}</li>" for i, c in enumerate(conditions))
        items.append(("Conditions", f"<ol>{rows}</ol>"))
    if problem.parameters:
        items.append(("Parameters", ", ".join(
            f"<math><mi>{html.escape(k)}</mi><mo>=</mo><mn>{v:.10g}</mn></math>" for k, v in problem.parameters.items())))
    functions = args.get("functions") or {}
    if functions:
        items.append(("Helper functions", "".join(mathml.assignment(k, v, ns, problem.domain.coords)
                                                  for k, v in functions.items())))  # fmt: skip
    exact = {k: v for k, v in (args.get("exact") or {}).items()
             if isinstance(v, (str, int, float)) and k not in problem.inverse.unknowns}  # those are listed with the unknowns
    if exact:
        items.append(("Exact solution", "".join(mathml.assignment(k, v, ns) for k, v in exact.items())))
    if problem.inverse:
        from .inverse import problem_items

        items += problem_items(problem)
    spectrum = args.get("eigen")
    if spectrum is not None:
        items.append(("Eigenproblem", f"the lowest {spectrum.states} state(s) and their eigenvalues "
                                      f"<math><mi>{html.escape(spectrum.symbol)}</mi></math>"
                                      + (", each state normalised" if spectrum.normalize else "")))  # fmt: skip
    return "<dl class='problem'>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _equation(eq, ns) -> str:
    if eq.expr is None:  # a Python function
        return f"<div><code>{html.escape(eq.label)}</code> (a Python function)</div>"
    return f"<div>{mathml.equation(eq.label, ns)}<div class='source'><code>{html.escape(eq.label)}</code></div></div>"


def domain(problem) -> str:
    parts = []
    for f in problem.domain.factors:
        if isinstance(f, Segment):
            parts.append(mathml.membership(f.coord, f.lo, f.hi) + (" (time)" if f.coord == TIME else ""))
        elif isinstance(f, Round):
            parts.append(mathml.disk(f.coord_pair, f.center, f.radius))
        elif isinstance(f, Plane):
            named = "".join(f"; <code>{html.escape(k)} = {html.escape(v)}</code>" for k, v in f.shape.definitions.items())
            parts.append(f"({', '.join(map(html.escape, f.coords))}) in the shape <code>{html.escape(f.shape.text)}</code>"
                         f"{named}")
        else:
            parts.append(html.escape(repr(f)))
    return ", ".join(parts)


def condition(problem, cond: Condition, number: int, ns) -> str:
    """One condition as mathematics, where it holds and how it is imposed."""
    how = _imposed(problem, cond, number)
    if isinstance(cond, Periodic):
        return f"periodic in <math><mi>{html.escape(cond.coord)}</mi></math> ({how})"
    if isinstance(cond, Observations):
        return f"{len(cond.values)} observations of <math><mi>{html.escape(cond.field)}</mi></math> ({how})"
    if isinstance(cond, (Neumann, Robin)) and not callable(cond.value):
        normal = f"{'' if isinstance(cond, Neumann) else f'{cond.a:g}·{cond.field} + {cond.b:g}·'}∂{cond.field}/∂n"
        math_ = f"<math><mi>{html.escape(normal)}</mi><mo>=</mo></math> {mathml.expression(cond.value, ns)}"
        return f"{math_} {_where(problem, cond.on)} ({how})"
    text = _condition_text(cond)
    math_ = mathml.equation(text, ns, display=False) if text else "<code>a Python function</code>"
    return f"{math_} {_where(problem, cond.on)} ({how})"


def _condition_text(cond: Condition) -> str | None:
    """The condition as an equation string (None for a Python function)."""
    if type(cond) is Condition:
        return cond.equation if isinstance(cond.equation, str) else None
    value = getattr(cond, "value", None)
    if callable(value):
        return None
    rhs = f"({value})"
    if isinstance(cond, Dirichlet):
        return f"{cond.field} = {rhs}"
    if isinstance(cond, InitialRate):
        return f"diff({cond.field}, {TIME}) = {rhs}"
    return None


def _where(problem, on) -> str:
    if on == "boundary":
        return "on the boundary" + (" (all times)" if problem.domain.has_time else "")
    if on == "start":
        return "at the start time"
    try:
        coord, value = problem.region_of(on, "display")
    except Exception:  # noqa: BLE001 - shown as written
        return f"on <code>{html.escape(str(on))}</code>"
    return f"at <math><mi>{html.escape(coord)}</mi><mo>=</mo><mn>{value:.10g}</mn></math>"


def _imposed(problem, cond: Condition, number: int) -> str:
    """"imposed exactly" (through the trial function or the network's inputs) or "penalty term"."""
    if isinstance(cond, Periodic):
        return "exact: periodic inputs" if cond.impose == "exact" else "penalty term"
    named = f"condition {number}"
    penalty = any(p.name == named or p.name.startswith((f"{named} ", f"{named}:")) for p in problem.penalties)
    return "penalty term" if penalty else "imposed exactly"


def reference_name(metrics: dict, key: str = "reference") -> str | None:
    """What the errors are measured against, in words, as HTML (None: nothing)."""
    name = dispatch.reference_name(metrics, key)
    return None if name is None else html.escape(name)


def accuracy(problem, metrics: dict) -> str:
    """The error table (one row per field or state, the reference named), eigenvalues, residuals."""
    against = reference_name(metrics)
    out = []
    l2, worst = metrics.get("l2_relative_error"), metrics.get("max_abs_error")
    if against is not None or l2:
        names = list(l2 or {}) or list(problem.fields)
        rows = "".join(f"<tr><th>{html.escape(n)}</th><td class='num'>{sci((l2 or {}).get(n))}</td>"
                       f"<td class='num'>{sci((worst or {}).get(n))}</td></tr>" for n in names)  # fmt: skip
        out.append(f"<table class='metrics errors'><caption>Errors against {against or 'a reference'}</caption>"
                   f"<thead><tr><th>field</th><th>relative L2 error against {against or 'the reference'}</th>"
                   f"<th>largest absolute error</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip
        out.append(reference_accuracy(metrics))
    else:
        out.append("<p>No reference: no exact solution was given and no classical method applied, so only the "
                   "equation residual below measures this solve.</p>")  # fmt: skip
    if "eigenvalues" in metrics:
        out.append(eigenvalues(metrics))
    out.append(residuals(problem, metrics))
    return "\n".join(out)


def reference_accuracy(metrics: dict) -> str:
    """The classical reference's own estimated errors and the errors at their level ("" for an
    exact reference with nothing to add)."""
    parts = []
    states, values = metrics.get("reference_error_estimate"), metrics.get("eigenvalue_reference_error_estimate")
    if metrics.get("reference") == "classical" and states is not None:
        parts.append(f"The classical reference estimates its own relative L2 error at {sci(states)} (it is solved "
                     "a second time, at another resolution or tolerance, and the two compared).")  # fmt: skip
    if metrics.get("eigenvalue_reference") == "classical" and values is not None:
        parts.append(f"The classical reference's eigenvalues have estimated relative errors of {sci(values)} or less.")
    note = dispatch.reference_level_note(metrics)
    if note is not None:
        parts.append(html.escape(note[0].upper() + note[1:]) + ".")
    return f"<p class='reference-accuracy'>{' '.join(parts)}</p>" if parts else ""


def eigenvalues(metrics: dict) -> str:
    values = metrics.get("eigenvalues") or []
    n = len(values)
    refs = metrics.get("reference_eigenvalues") or [None] * n
    errs = metrics.get("eigenvalue_errors") or [None] * n
    resid = metrics.get("residual_rms_per_state") or [None] * n
    against = reference_name(metrics, "eigenvalue_reference") or "a reference"
    rows = "".join(f"<tr><th>{k}</th><td class='num'>{_value(v)}</td><td class='num'>{_value(r)}</td>"
                   f"<td class='num'>{sci(e)}</td><td class='num'>{sci(s)}</td></tr>"
                   for k, (v, r, e, s) in enumerate(zip(values, refs, errs, resid)))  # fmt: skip
    return (f"<table class='metrics eigenvalues'><caption>Eigenvalues against {against}</caption><thead><tr>"
            f"<th>state</th><th>eigenvalue</th><th>reference eigenvalue</th><th>relative error against {against}</th>"
            f"<th>residual RMS</th></tr></thead><tbody>{rows}</tbody></table>")  # fmt: skip


def _value(value) -> str:
    """An eigenvalue: 10 significant digits (it is a result, not an error)."""
    return "—" if value is None else f"{value:.10g}".replace("-", "−")


def residuals(problem, metrics: dict) -> str:
    per = metrics.get("residual_rms_per_equation") or []
    labels = [e.label for e in problem.equations]
    rows = "".join(f"<tr><th><code>{html.escape(labels[i] if i < len(labels) else f'equation {i + 1}')}</code></th>"
                   f"<td class='num'>{sci(v)}</td></tr>" for i, v in enumerate(per))  # fmt: skip
    if len(per) != 1:
        rows += f"<tr><th>all equations</th><td class='num'>{sci(metrics.get('residual_rms'))}</td></tr>"
    return ("<table class='metrics residuals'><caption>Equation residual (RMS on fresh interior points)</caption>"
            f"<thead><tr><th>equation</th><th>residual RMS</th></tr></thead><tbody>{rows}</tbody></table>")


def settings(problem, metrics: dict) -> str:
    """The settings used (metrics.json ``settings``, as a problem file's ``[solver]`` table)."""
    table = metrics.get("settings")
    rows = []
    if table:
        rows += [(_label(k), _setting(problem, k, v)) for k, v in table.items() if _shown(k, v)]
    else:
        rows += [("precision", plain(metrics.get("precision"))), ("seed", plain(metrics.get("seed")))]
    rows += [("optimiser steps taken", plain(metrics.get("steps"))),
             ("training time", f"{metrics['wall_time_s']:.1f} s" if metrics.get("wall_time_s") is not None else "—")]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    note = "" if table else "<caption>Settings (the full settings were not recorded in this run's metrics.json)</caption>"
    return f"<table class='settings'>{note or '<caption>Settings used</caption>'}<tbody>{body}</tbody></table>"


def _shown(key: str, value) -> bool:
    """Leave out the settings that are off (no weighting, no causal weighting, one window)."""
    return not (value is False or value == "fixed" or (key == "windows" and value == 1))


def _label(key: str) -> str:
    return {"network": "network", "points": "collocation points", "phases": "optimiser phases",
            "time_limit": "time limit", "redraw": "fresh points every"}.get(key, key.replace("_", " "))  # fmt: skip


def _setting(problem, key: str, value) -> str:
    if key == "network" and isinstance(value, dict):
        text = (f"{plain(value.get('depth'))} hidden layers of {plain(value.get('width'))} "
                f"{plain(value.get('activation'))} units")  # fmt: skip
        features = value.get("features")
        if isinstance(features, dict):
            text += f"; input features: {_options(features)}"
        return text
    if key == "points" and isinstance(value, dict):
        try:
            interior, boundary = Points(**value).counts(problem.domain.dim)
        except Exception:  # noqa: BLE001 - shown as recorded
            return _options(value)
        return f"{interior} interior, {boundary} per boundary condition ({plain(value.get('sampler', 'sobol'))})"
    if key == "phases" and isinstance(value, list):
        return "<ol class='phases'>" + "".join(f"<li>{_phase(p)}</li>" for p in value) + "</ol>"
    if key == "time_limit":
        return f"{plain(value)} s"
    if key == "redraw":
        return f"{plain(value)} Adam steps"
    if isinstance(value, dict):
        return _options(value)
    return plain(value)


def _phase(phase: dict) -> str:
    """``Adam: up to 1000 steps (learning rate 0.001)``: the settings that differ from the method's
    defaults, and the learning rate."""
    name = METHOD_NAMES.get(phase.get("method"), plain(phase.get("method")))
    kind = PHASES.get(phase.get("method"))
    defaults = {f.name: f.default for f in dataclasses.fields(kind)} if kind else {}
    rest = {k: v for k, v in phase.items()
            if k not in ("method", "steps") and (k == "learning_rate" or defaults.get(k, object()) != v)}  # fmt: skip
    return f"{name}: up to {plain(phase.get('steps'))} steps" + (f" ({_options(rest)})" if rest else "")


def _options(table: dict) -> str:
    return ", ".join(f"{html.escape(str(k)).replace('_', ' ')} {plain(v) if not isinstance(v, dict) else _options(v)}"
                     for k, v in table.items())  # fmt: skip


def phases(metrics: dict) -> str:
    """How each phase ended: steps taken and why it stopped."""
    log = metrics.get("phases") or []
    if not log:
        return "<p>No optimiser phase ran.</p>"
    extra = sorted({k for p in log for k in p if k not in ("phase", "steps", "stop")})
    head = "".join(f"<th>{html.escape(k)}</th>" for k in extra)
    rows = "".join("<tr>" + "".join(f"<td>{plain(p.get(k))}</td>" for k in extra)
                   + f"<td>{METHOD_NAMES.get(p.get('phase'), plain(p.get('phase')))}</td>"
                   f"<td class='num'>{plain(p.get('steps'))}</td><td>{plain(p.get('stop'))}</td></tr>" for p in log)  # fmt: skip
    return (f"<table class='phases'><caption>Optimiser phases as they ran</caption><thead><tr>{head}<th>method</th>"
            f"<th>steps taken</th><th>stopped because</th></tr></thead><tbody>{rows}</tbody></table>")


def figure(fig: Figure) -> str:
    """A plot inlined as base64 PNG data, with its caption (its file's name in ``alt``: see
    :func:`shown_plots`)."""
    data = base64.b64encode(fig.path.read_bytes()).decode()
    return (f"<figure><img alt='{html.escape(fig.path.stem)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{fig.caption}</figcaption></figure>")


def shown_plots(report: str) -> list[str]:
    """The file names of the plots a report.html written by :func:`page` shows."""
    stems = re.findall(r"<img alt='([^'/\\]+)' src='data:image/png;base64,", report)
    return [f"{html.unescape(stem)}.png" for stem in stems]
