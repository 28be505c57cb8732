"""Verification's search over formulas (neuralsolve.discover.eliminate), with a stand-in re-solve:
backward elimination, then single-term swaps of the sparsest formulas."""

import numpy as np

from neuralsolve.discover.eliminate import eliminate, summary

TERMS = ["y", "x*y", "x"]
NAMES = {"G": {"y": "G_1", "x*y": "G_2", "x": "G_3"}}
# where the solution goes: the three candidates' values at 50 points
FEATURES = np.random.default_rng(0).uniform(0.5, 2.0, size=(50, 3))
# the full fit's coefficients make x*y the smallest share, so elimination drops it first and
# ends on y; the data are fitted best by x*y alone
FULL = {"G_1": 1.0, "G_2": 0.05, "G_3": 0.5}
MISFIT = {frozenset({"G_1", "G_2", "G_3"}): 0.0099, frozenset({"G_1", "G_3"}): 0.05, frozenset({"G_1"}): 0.2,
          frozenset({"G_2"}): 0.01, frozenset({"G_3"}): 0.3}  # fmt: skip


def _refit(calls):
    def refit(state, support, start):
        kept = frozenset(c for c, on in support.items() if on)
        calls.append((state, kept, dict(start)))
        fitted = {c: (start.get(c, FULL[c]) if on else 0.0) for c, on in support.items()}
        return fitted, {"y": (MISFIT[kept], 100)}, "converged", f"after {sorted(kept)}"

    return refit


def test_a_swap_replaces_the_term_elimination_ended_on_when_another_fits_better():
    calls = []
    rounds = eliminate({"G": (TERMS, FEATURES)}, NAMES, 0.01, _refit(calls), "start")
    kept = [c[1] for c in calls]
    # elimination: all three, then without x*y, then y alone; swaps of y: x*y, then x
    assert kept == [frozenset({"G_1", "G_2", "G_3"}), frozenset({"G_1", "G_3"}), frozenset({"G_1"}),
                    frozenset({"G_2"}), frozenset({"G_3"})]  # fmt: skip
    # each round starts where the one before ended; a swap from the sparsest round's parameters
    assert [c[0] for c in calls[:3]] == ["start", "after ['G_1', 'G_2', 'G_3']", "after ['G_1', 'G_3']"]
    assert calls[3][0] == calls[4][0] == "after ['G_1']"
    # the newcomer takes over the replaced term's values: its least-squares ratio along the solution
    y, xy = FEATURES[:, 0], FEATURES[:, 1]
    assert np.isclose(calls[3][2]["G_2"], FULL["G_1"] * (y @ xy) / (xy @ xy))
    chosen = summary(rounds)
    # x*y alone: misfit 0.01 with one coefficient beats the full fit's 0.0099 with three
    assert chosen["discovered"] == {"G": f"{calls[3][2]['G_2']:.6g}*x*y"}
    assert len(chosen["discovery_candidates"]) == 5


def test_swaps_go_on_from_a_kept_swap_and_stop_when_none_lowers_the_criterion():
    """Two formulas, each ending on y by elimination; x*y in both fits best. The first pass keeps
    one formula's swap, the second the other's, the third finds nothing better."""
    names = {k: {t: f"{k}_{i}" for i, t in enumerate(TERMS, 1)} for k in ("F", "G")}
    full = {**{f"F_{i}": c for i, c in enumerate(FULL.values(), 1)}, **{f"G_{i}": c for i, c in enumerate(FULL.values(), 1)}}
    calls = []

    def refit(state, support, start):
        kept = frozenset(c for c, on in support.items() if on)
        calls.append(kept)
        wrong = sum(f"{k}_2" not in kept for k in ("F", "G"))
        misfit = 0.0099 if len(kept) == 6 else 0.05 if len(kept) == 4 else 0.01 + 0.1 * wrong
        fitted = {c: (start.get(c, full[c]) if on else 0.0) for c, on in support.items()}
        return fitted, {"x": (misfit, 100), "y": (misfit, 100)}, "converged", None

    rounds = eliminate({k: (TERMS, FEATURES) for k in ("F", "G")}, names, 0.01, refit, None)
    assert calls[2] == frozenset({"F_1", "G_1"})  # elimination ends on y in both
    # pass 1 from (y, y): 4 swaps; pass 2 from (x*y, y): the 2 not yet re-solved; pass 3 from
    # (x*y, x*y): 1; no support is re-solved twice
    assert len(calls) == 3 + 4 + 2 + 1 and len(set(calls)) == len(calls)
    assert frozenset({"F_2", "G_2"}) in calls[7:9]  # found in the second pass, from the swap kept in the first
    assert all(v.endswith("*x*y") and v.count("*") == 2 for v in summary(rounds)["discovered"].values())


def test_with_the_noise_known_a_model_that_fits_below_it_no_longer_wins():
    """Ten observations of each of two fields at noise 0.01: twelve terms that fit them to 0.001
    beat two terms at the noise's 0.01 when the variance is estimated from the misfit, and lose
    when the known noise is used."""
    from neuralsolve.discover.eliminate import bic

    sparse, dense = {f: (0.01, 10) for f in "xy"}, {f: (0.001, 10) for f in "xy"}
    assert bic(dense, 12) < bic(sparse, 2)
    noise = {"x": 0.01, "y": 0.01}
    assert bic(sparse, 2, noise) < bic(dense, 12, noise)
    assert bic(sparse, 2, {"x": 0.01}) == bic(sparse, 2)  # noise for one field only: estimated, as without


def test_each_fields_noise_is_read_from_the_data_sets_that_measure_it():
    from neuralsolve.discover.eliminate import field_noise
    from neuralsolve.problem.inverse import Observed

    def observed(values, noise):
        return Observed(np.zeros((len(values), 1)), np.array(values, float), np.array(noise, float), None, "d")

    a = observed([[1.0, np.nan], [2.0, 3.0]], [0.1, 0.2])  # x twice, y once
    b = observed([[1.0, 1.0]], [0.4, np.nan])  # y's noise not given here
    assert field_noise([a], ["x", "y"]) == {"x": 0.1, "y": 0.2}
    noise = field_noise([a, b], ["x", "y"])
    assert set(noise) == {"x"} and np.isclose(noise["x"], np.sqrt((2 * 0.1**2 + 0.4**2) / 3))
