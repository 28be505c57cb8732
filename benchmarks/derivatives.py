"""Micro-benchmark: time per residual evaluation for 1st, 2nd and 4th derivatives, per method.

For each derivative order k it times, on a batch of points of a 2-D MLP (tanh, width 32, depth 3):
  * ``residual``: the k-th derivative in x at every point (what evaluating an equation costs);
  * ``loss+grad``: the mean squared k-th derivative and its gradient in the network parameters
    (what one training step costs).
for the methods of ``neuralsolve.ops.derivatives``: one batched Taylor-mode pass through the network
(``taylor``, the default), JAX's Taylor mode per point (``jet``), nested forward mode (``jvp``) and
nested reverse mode (``reverse``). Rows "lap" time the Laplacian (both second derivatives).

    python benchmarks/derivatives.py [--points 2048] [--precision float64] [--repeat 30]
"""

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp

import neuralsolve as ns
from neuralsolve.pinn.model import build_model
from neuralsolve.ops.derivatives import METHODS, at_points

# (label, directions summed): k-th derivative in x, and the Laplacian
TARGETS = [("1", [(0,)]), ("2", [(0, 0)]), ("4", [(0, 0, 0, 0)]), ("lap", [(0, 0), (1, 1)])]


def _time(fn, *args, repeat: int) -> float:
    jax.block_until_ready(fn(*args))  # compile outside the timing
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeat


def run(points: int, precision: str, repeat: int) -> list[dict]:
    rows = []
    with jax.enable_x64(precision == "float64"):
        dtype = jnp.float64 if precision == "float64" else jnp.float32
        square = ns.Rectangle((0, 1), (0, 1))
        problem = ns.Problem(square, "u", "diff(u, x, 2) + diff(u, y, 2) = 0", [ns.Dirichlet("u", 0.0, impose="penalty")])
        model, params = build_model(problem, ns.MLP(32, 3, "tanh"), dtype, 0)
        x = jax.random.uniform(jax.random.PRNGKey(1), (points, 2), dtype)
        for label, keys in TARGETS:
            for method in METHODS:

                def deriv(p, xs, method=method, keys=keys):
                    values = at_points(model, p, xs, keys, method)
                    return sum(values[k][:, 0] for k in keys)

                residual = jax.jit(deriv)
                loss_grad = jax.jit(jax.value_and_grad(lambda p, xs: jnp.mean(deriv(p, xs) ** 2)))
                rows.append({
                    "order": label, "method": method,
                    "residual_ms": 1e3 * _time(residual, params, x, repeat=repeat),
                    "loss_grad_ms": 1e3 * _time(loss_grad, params, x, repeat=repeat),
                })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=2048)
    parser.add_argument("--precision", default="float64", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = run(args.points, args.precision, args.repeat)
    print(f"# {platform.processor() or platform.machine()}, jax {jax.__version__}, {jax.devices()[0].platform}, "
          f"{args.points} points, {args.precision}")  # fmt: skip
    print(f"{'order':>5} {'method':>8} {'residual ms':>12} {'loss+grad ms':>13}")
    for r in rows:
        print(f"{r['order']:>5} {r['method']:>8} {r['residual_ms']:>12.2f} {r['loss_grad_ms']:>13.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
