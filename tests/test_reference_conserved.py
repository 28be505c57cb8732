"""The classical reference for conserved quantities (every equation ``diff(Q, x) = 0``): solved as
algebraic equations by Newton's method, continued across the interval and through critical points."""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import lambertw

import neuralsolve as ns
from neuralsolve.reference import classical_reference
from neuralsolve.reference.plan import CONSERVED, classical_method

ROOT = Path(__file__).resolve().parents[1]


def parker_speed(r):
    """Parker's transonic wind, v^2/2 - ln v = 2 ln r + 2/r - 3/2 (sound speed 1, sonic point r = 1):
    v^2 = -W(-r^-4 exp(3 - 4/r)), the principal branch inside r = 1 (subsonic), the lower one outside."""
    z = np.maximum(-(r**-4.0) * np.exp(3 - 4 / r), -np.exp(-1.0))  # -1/e at r = 1 (rounding may pass it)
    w = np.where(r < 1, lambertw(z, 0).real, lambertw(z, -1).real)
    return np.sqrt(-np.where(np.isfinite(w), w, -1.0))  # the branch point itself: W = -1


def parker(start=0.5):
    return ns.Problem(ns.Interval(start, 3.0, coord="r"), "v", "diff(v^2/2 - log(v) - 2*log(r) - 2/r, r) = 0",
                      [ns.Condition(f"v = {float(parker_speed(np.array(start))):.17g}", on=f"r = {start}")])  # fmt: skip


def test_a_transonic_wind_is_followed_through_its_sonic_point():
    """Only the transonic solution passes r = 1 smoothly; the reference crosses there from the
    subsonic branch onto the supersonic one and matches the Lambert-W solution to rounding,
    with an estimate of its own error that covers the true one."""
    problem = parker()
    assert classical_method(problem) == CONSERVED
    ref = classical_reference(problem)
    r = np.linspace(0.5, 3.0, 4001)
    exact = parker_speed(r)
    got = ref.values(r[:, None])[:, 0]
    error = np.linalg.norm(got - exact) / np.linalg.norm(exact)
    assert error < 1e-9
    # at the sonic point itself a rounding of the constant moves the root by its square root
    assert np.max(np.abs(got - exact) / exact) < 1e-7
    assert error <= ref.error_estimate < 1e-8
    assert got[r < 0.99].max() < 1 < got[r > 1.01].min()


def test_the_march_may_start_at_either_end():
    """From the supersonic end inwards the same curve is found."""
    problem = ns.Problem(ns.Interval(0.5, 3.0, coord="r"), "v", "0 = diff(v^2/2 - log(v) - 2*log(r) - 2/r, r)",
                         [ns.Condition(f"v = {float(parker_speed(np.array(3.0))):.17g}", on="r = 3")])  # fmt: skip
    r = np.linspace(0.5, 3.0, 501)
    got = classical_reference(problem).values(r[:, None])[:, 0]
    np.testing.assert_allclose(got, parker_speed(r), rtol=1e-7)


def test_bondi_accretion_matches_the_root_finding_written_for_it():
    """The bundled Bondi example (constants given to 6 digits, so the two branches do not quite
    meet): the reference agrees with benchmarks/bondi_reference.py, root finding written for this
    problem alone, everywhere but between the two estimates of the sonic radius."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bondi_reference
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    problem = ns.load(ROOT / "src/neuralsolve/examples/bondi.toml")
    ref = classical_reference(problem)
    r = np.linspace(20, 140.5, 2001)
    r = r[np.abs(r - bondi_reference.sonic_radius()) > 1e-3]
    theirs = np.stack(bondi_reference.solve_at(r), axis=1)
    got = ref.values(r[:, None])
    assert np.max(np.abs(got - theirs) / theirs) < 1e-10
    assert ref.error_estimate < 1e-10


@pytest.mark.parametrize("equation, conditions", [
    ("diff(v^2/2 - log(v), r) = 2/r", ["v = 0.5 on r = 0.5"]),  # not zero on the other side
    ("diff(v, r, 2) = 0", ["v = 0.5 on r = 0.5"]),  # a second derivative
    ("diff(v*diff(v, r), r) = 0", ["v = 0.5 on r = 0.5"]),  # a quantity with a derivative in it
    ("diff(v^2/2 - log(v), r) = 0", ["v = 0.5 on r = 0.5", "v = 0.6 on r = 3"]),  # values at both ends
])  # fmt: skip
def test_other_equations_are_not_taken(equation, conditions):
    conds = [ns.Condition(c.split(" on ")[0], on=c.split(" on ")[1]) for c in conditions]
    problem = ns.Problem(ns.Interval(0.5, 3.0, coord="r"), "v", equation, conds)
    assert classical_method(problem) != CONSERVED
