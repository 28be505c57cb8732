"""DeepXDE (PyTorch backend) peer for the Burgers Adam-throughput benchmark.

Reproduces the settings of DeepXDE's ``examples/pinn_forward/Burgers.py``:
x in [-1, 1], t in [0, 0.99]; u_t + u u_x - (0.01/pi) u_xx = 0; u = 0 on
x = +-1; u(x, 0) = -sin(pi x); TimePDE with num_domain=2540, num_boundary=80,
num_initial=160; FNN [2] + [20]*3 + [1], tanh, "Glorot normal"; Adam lr=1e-3;
float32.  Optionally followed by DeepXDE's L-BFGS phase (default options),
exactly as the example does.

What is measured: ``adam_seconds`` is the wall time of a single
``model.train(iterations=N)`` call made *after* a separate warm-up
``model.train(iterations=K)`` call (so first-step overhead is excluded).
``display_every`` is set to 10**9, so the only loss evaluations inside the
timed call are the two DeepXDE always makes (one at the start and one at the
end of every ``train()`` call).  ``adam_steps_per_s = N / adam_seconds``.
``total_wall_s`` covers everything after imports (setup, warm-up, Adam,
L-BFGS, evaluation).

Run it with the separate venv (never imports neuralsolve)::

    .venv-bench/bin/python benchmarks/peers/deepxde_burgers.py \\
        --adam-steps 2000 --data /work/shared/data/burgers_deepxde.npz

DeepXDE's own logs go to stderr; stdout gets exactly one JSON line.
"""

import argparse
import contextlib
import json
import os
import sys
import time

os.environ["DDE_BACKEND"] = "pytorch"

DISPLAY_EVERY = 10**9


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--adam-steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--lbfgs", action="store_true")
    p.add_argument("--data", default=None, help=".npz with keys t, x, usol")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    with contextlib.redirect_stdout(sys.stderr):
        import deepxde as dde
        import numpy as np
        import torch

        if args.threads is not None:
            torch.set_num_threads(args.threads)
        t_start = time.perf_counter()
        dde.config.set_default_float("float32")
        dde.config.set_random_seed(args.seed)

        def pde(x, y):
            dy_x = dde.grad.jacobian(y, x, i=0, j=0)
            dy_t = dde.grad.jacobian(y, x, i=0, j=1)
            dy_xx = dde.grad.hessian(y, x, i=0, j=0)
            return dy_t + y * dy_x - 0.01 / np.pi * dy_xx

        geom = dde.geometry.Interval(-1, 1)
        timedomain = dde.geometry.TimeDomain(0, 0.99)
        geomtime = dde.geometry.GeometryXTime(geom, timedomain)
        bc = dde.icbc.DirichletBC(
            geomtime, lambda x: 0, lambda _, on_boundary: on_boundary
        )
        ic = dde.icbc.IC(
            geomtime,
            lambda x: -np.sin(np.pi * x[:, 0:1]),
            lambda _, on_initial: on_initial,
        )
        data = dde.data.TimePDE(
            geomtime, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160
        )
        net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
        model = dde.Model(data, net)
        model.compile("adam", lr=1e-3)

        if args.warmup > 0:
            model.train(iterations=args.warmup, display_every=DISPLAY_EVERY)
        t0 = time.perf_counter()
        model.train(iterations=args.adam_steps, display_every=DISPLAY_EVERY)
        adam_seconds = time.perf_counter() - t0

        lbfgs_steps = None
        if args.lbfgs:
            model.compile("L-BFGS")
            model.train()
            # Number of L-BFGS iterations torch.optim.LBFGS actually performed.
            lbfgs_steps = int(model.opt.state_dict()["state"][0]["n_iter"])

        l2 = None
        if args.data:
            ref = np.load(args.data)
            t, x, exact = ref["t"], ref["x"], ref["usol"].T
            xx, tt = np.meshgrid(x, t)
            X = np.vstack((np.ravel(xx), np.ravel(tt))).T
            y_true = exact.flatten()[:, None]
            y_pred = model.predict(X)
            l2 = float(dde.metrics.l2_relative_error(y_true, y_pred))
        total_wall_s = time.perf_counter() - t_start

    print(
        json.dumps(
            {
                "peer": "deepxde",
                "deepxde_version": dde.__version__,
                "torch_version": torch.__version__,
                "adam_steps": args.adam_steps,
                "adam_seconds": adam_seconds,
                "adam_steps_per_s": args.adam_steps / adam_seconds,
                "lbfgs_steps": lbfgs_steps,
                "total_wall_s": total_wall_s,
                "l2_relative_error": l2,
                "threads": torch.get_num_threads(),
                "warmup_steps": args.warmup,
                "display_every": DISPLAY_EVERY,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
