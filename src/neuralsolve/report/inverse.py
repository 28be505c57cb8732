"""What an inverse solve adds to its outputs: the terminal lines of its estimates, data misfits and
discovered formulas; the arrays its report needs that only the trained networks can give (saved
in solution.npz, so that ``neuralsolve report`` re-renders without them); and its unknowns, hidden
terms and data as part of the report's statement of the problem.

No plotting and no JAX at import: the command line imports this for its summary.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np

# solution.npz keys: the fields predicted at data set k's points (1-based), and hidden term
# NAME's network along the solution at the evaluation grid
PREDICTED = "data_predicted_{}"
HIDDEN = "hidden_{}"


def summary_lines(problem, metrics: dict) -> list[str]:
    """The terminal lines of an inverse solve (none for any other): one per unknown constant,
    the data misfit per field, and each discovered formula with both models' misfits."""
    if "data_misfit_rms" not in metrics:
        return []
    exact = problem.inverse.exact
    errors = metrics.get("unknown_errors") or {}
    stderr = metrics.get("unknowns_stderr") or {}
    lines = [unknown_line(k, v, stderr.get(k), exact.get(k), errors.get(k))
             for k, v in (metrics.get("unknowns") or {}).items()]  # fmt: skip
    misfit = metrics.get("data_misfit_rms") or {}
    if misfit:
        lines.append(f"data misfit RMS: {misfits(misfit)}")
    lines += [f"discovered: {formula_name(problem, k)} = {v}" for k, v in (metrics.get("discovered") or {}).items()]
    formula = metrics.get("discovered_misfit_rms")
    if formula:  # the verification re-solved with the formulas: both models against the same data
        lines.append(f"network model: misfit RMS {misfits(misfit)}; formula model: {misfits(formula)}")
    elif metrics.get("discovered"):
        lines.append(f"verification: {metrics.get('verification') or 'not run'}")
    return lines


def unknown_line(name: str, value: float, stderr, true, error) -> str:
    """``nu = 0.00318 ± 0.00002 (standard error; true 0.0031831: relative error 0.2%)``."""
    known = finite(value) and finite(stderr) and stderr > 0  # NaN: training diverged, or no error found
    text = f"{name} = {with_error(value, stderr) if known else f'{value:.6g}'} ("
    text += "standard error" if known else "no standard error"
    if true is not None:
        text += f"; true {true:.8g}" + (f": relative error {relative(error)}" if finite(error) else "")
    return text + ")"


def with_error(value: float, stderr: float) -> str:
    """``value ± stderr``, the error to one significant digit (two when it starts with 1) and the
    value to the same decimal place: the digits the error leaves meaningful, and no more."""
    mantissa, exponent = f"{stderr:.0e}".split("e")  # rounded first: 0.000096 is 1e-04, not 9.6e-05
    places = 1 - int(exponent) if mantissa == "1" else -int(exponent)
    if 0 <= places <= 8 and abs(value) < 1e6:
        return f"{value:.{places}f} ± {stderr:.{places}f}"
    if places < 0 and abs(value) < 1e15:  # an error of 10 or more: whole numbers
        step = 10.0 ** -places
        return f"{round(value / step) * step:.0f} ± {round(stderr / step) * step:.0f}"
    power = int(math.floor(math.log10(abs(value)))) if value else int(exponent)
    digits = min(max(power + places, 0), 15)  # beyond 15 digits a float has nothing to say
    scale = 10.0**power
    return f"({value / scale:.{digits}f} ± {stderr / scale:.{digits}f})e{power}"


def relative(error: float) -> str:
    """A relative error as a percentage (``0.2%``), or in scientific notation below 0.1%."""
    return f"{100 * error:.2g}%" if error >= 1e-3 else short(error)


def short(value: float) -> str:
    """Two significant digits, ``4.0e-3`` (no padded exponent)."""
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{value:.1e}")


def misfits(by_field: dict) -> str:
    """``x 4.0e-3, y 7.4e-3``."""
    return ", ".join(f"{f} {short(v)}" for f, v in by_field.items())


def formula_name(problem, name: str) -> str:
    """``F(x, y)``: a hidden term with its inputs (the name alone if it is not one)."""
    hidden = problem.inverse.hidden.get(name)
    return f"{name}({', '.join(hidden.inputs)})" if hidden else name


def finite(value) -> bool:
    """Whether ``value`` is a finite number (metrics hold None or NaN where none was found)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def inputs_along(inputs, coords, fields, points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A hidden term's inputs (coordinates and fields by name) at ``points`` (n, d), where the
    fields have ``values`` (n, fields) -> (n, len(inputs))."""
    columns = [values[:, list(fields).index(n)] if n in fields else points[:, list(coords).index(n)] for n in inputs]
    return np.stack(columns, axis=1)


def saved_arrays(problem, sol, points: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of an inverse solve's report: the fields predicted at each data set's points and
    each hidden network's values at ``points`` (where the fields have ``values``)."""
    out = {PREDICTED.format(k): sol(d.points) for k, d in enumerate(problem.inverse.data, 1)}
    if problem.inverse.hidden and sol.settings is not None:
        out.update({HIDDEN.format(k): v for k, v in hidden_values(problem, sol, points, values).items()})
    return out


def hidden_values(problem, sol, points: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """Each hidden network's values at ``points`` (NaN where a field value is NaN, outside the
    domain), read with the inverse family's own model of the parameters."""
    import jax
    import jax.numpy as jnp

    from ..methods.inverse.model import Learned

    float64 = sol.precision == "float64"
    with jax.enable_x64(float64):
        dtype = jnp.float64 if float64 else jnp.float32
        # built again only for the networks' structure: the trained values are sol.params
        learned = Learned(problem, sol.settings["network"], dtype, sol.settings["seed"])
        out = {}
        for name, hidden in problem.inverse.hidden.items():
            x = inputs_along(hidden.inputs, problem.domain.coords, problem.fields, points, values)
            ok = np.all(np.isfinite(x), axis=1)
            at = jax.vmap(lambda i, name=name: learned.hidden_value(sol.params, name, i))
            out[name] = np.full(len(x), np.nan)
            out[name][ok] = np.asarray(at(jnp.asarray(x[ok], dtype)), dtype=float)
    return out


def problem_items(problem) -> list[tuple[str, str]]:
    """``(title, HTML)`` of the problem's unknowns, hidden terms and data (none for a forward problem)."""
    inv, items = problem.inverse, []
    if inv.unknowns:
        rows = "".join(f"<li>{_unknown(name, u, inv.exact.get(name))}</li>" for name, u in inv.unknowns.items())
        items.append(("Unknown constants", f"<ul>{rows}</ul>"))
    if inv.hidden:
        rows = "".join(f"<li><code>{html.escape(formula_name(problem, k))}</code>: learned as a network of "
                       f"{h.depth} hidden layer(s) of {h.width} units</li>" for k, h in inv.hidden.items())  # fmt: skip
        items.append(("Hidden terms", f"<ul>{rows}</ul>" + _discovery(inv.discover)))
    if inv.data:
        rows = "".join(f"<li>{_data_set(problem, d)}</li>" for d in inv.data)
        items.append(("Data", f"<ul>{rows}</ul>"))
    return items


def _unknown(name: str, u, true) -> str:
    text = f"<math><mi>{html.escape(name)}</mi></math>: estimated from the data, starting at {u.initial:g}"
    text += ", kept positive" if u.positive else ""
    return text + ("" if true is None else f"; true value {true:.10g} (given in [exact])")


def _discovery(spec) -> str:
    if spec is None:
        return ""
    terms = (f"polynomial terms of degree up to {spec.degree}" if spec.terms == "polynomial"
             else "the terms " + ", ".join(f"<code>{html.escape(t)}</code>" for t in spec.terms))  # fmt: skip
    check = f"verified by a re-solve of up to {spec.refit} L-BFGS steps with the formulas in place"
    return (f"<p>Each turned into a formula by sparse regression over {terms} (threshold {spec.threshold:g}); "
            f"{check if spec.refit else 'not verified'}.</p>")


def _data_set(problem, d) -> str:
    measured = [f for j, f in enumerate(problem.fields) if np.isfinite(d.values[:, j]).any()]
    noise = [f"{f} {s:g}" for f, s in zip(problem.fields, d.noise) if f in measured and np.isfinite(s)]
    text = f"<code>{html.escape(d.name)}</code>: {len(d.points)} points measuring {html.escape(', '.join(measured))}"
    text += f"; noise standard deviation {html.escape(', '.join(noise))}" if noise else "; noise not given"
    return text + (f"; weight {d.weight:g}" if d.weight is not None else "")
