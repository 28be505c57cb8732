"""DeepXDE peer for issue 19: DeepXDE's own "Poisson equation over L-shaped domain" example.

Source: github.com/lululxvi/deepxde, examples/pinn_forward/Poisson_Lshape.py (last changed in
commit 9d9d0b0f7b3384887e36c7811248480d0bcc8aa6; read at HEAD 99b6620386d1). Its settings,
reproduced unchanged:

    geom = dde.geometry.Polygon([[0, 0], [1, 0], [1, -1], [-1, -1], [-1, 1], [0, 1]])
    -u_xx - u_yy = 1 in geom, u = 0 on the whole boundary (DirichletBC, on_boundary)
    dde.data.PDE(geom, pde, bc, num_domain=1200, num_boundary=120, num_test=1500)
    dde.nn.FNN([2] + [50] * 4 + [1], "tanh", "Glorot uniform")
    compile("adam", lr=0.001); train(iterations=50000)
    compile("L-BFGS"); train()          # DeepXDE's default L-BFGS options (maxiter 15000, ...)

Differences from the example, all outside the training itself:
  * backend PyTorch (DDE_BACKEND=pytorch, set here unless already set);
  * precision float64 by default (dde.config.set_default_float; the example itself runs in
    DeepXDE's default float32, but with DeepXDE 1.15.0 + PyTorch that crashes on this Polygon:
    "mat1 and mat2 must have the same dtype, but got Double and Float" at the first loss
    evaluation, because some sampled points come out float64 -- --precision float32 reproduces it);
  * dde.config.set_random_seed(--seed, default 0) for reproducibility (the example sets none);
  * no dde.saveplot; instead the trained net is evaluated on lshape_points.npy and the results
    are written to deepxde_lshape.npz (or --out).

wall_s is time.perf_counter() around the two model.train calls only (imports, geometry and
point sampling, model construction/compile and the final evaluation are excluded).

    DDE_BACKEND=pytorch .venv-bench/bin/python -u benchmarks/geometry/deepxde_lshape.py
    .venv-bench/bin/python -u benchmarks/geometry/deepxde_lshape.py --iterations 200 --out /tmp/smoke.npz
"""

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=50000, help="Adam iterations (example: 50000)")
    ap.add_argument("--precision", choices=["float32", "float64"], default="float64")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-lbfgs", action="store_true", help="skip the L-BFGS phase")
    ap.add_argument("--lbfgs-maxiter", type=int, default=None,
                    help="cap L-BFGS (smoke runs only; default: DeepXDE's own options, maxiter 15000)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="stop Adam after this many seconds of training (a side-by-side at equal wall time); "
                         "L-BFGS is then skipped, as the example would still be in its Adam phase")
    ap.add_argument("--points", default=str(HERE / "lshape_points.npy"))
    ap.add_argument("--out", default=str(HERE / "deepxde_lshape.npz"))
    args = ap.parse_args()

    os.environ.setdefault("DDE_BACKEND", "pytorch")
    sys.path.insert(0, str(HERE))
    import numpy as np
    import torch
    import deepxde as dde
    from make_lshape_points import ensure_points

    assert dde.backend.backend_name == "pytorch", dde.backend.backend_name
    dde.config.set_default_float(args.precision)
    if args.lbfgs_maxiter is not None:
        dde.optimizers.set_LBFGS_options(maxiter=args.lbfgs_maxiter)
        # DeepXDE computes the PyTorch per-call chunk only at import; redo it for the cap
        o = dde.optimizers.config.LBFGS_options
        o["iter_per_step"] = min(1000, o["maxiter"])
        o["fun_per_step"] = o["maxfun"] * o["iter_per_step"] // o["maxiter"]
    dde.config.set_random_seed(args.seed)

    def pde(x, y):
        dy_xx = dde.grad.hessian(y, x, i=0, j=0)
        dy_yy = dde.grad.hessian(y, x, i=1, j=1)
        return -dy_xx - dy_yy - 1

    def boundary(_, on_boundary):
        return on_boundary

    geom = dde.geometry.Polygon([[0, 0], [1, 0], [1, -1], [-1, -1], [-1, 1], [0, 1]])
    bc = dde.icbc.DirichletBC(geom, lambda x: 0, boundary)
    data = dde.data.PDE(geom, pde, bc, num_domain=1200, num_boundary=120, num_test=1500)
    net = dde.nn.FNN([2] + [50] * 4 + [1], "tanh", "Glorot uniform")
    model = dde.Model(data, net)

    print(f"deepxde {dde.__version__}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"precision {args.precision}, seed {args.seed}, points: all {len(data.train_x_all)}, "
          f"on boundary {len(data.train_x_bc)}, train {len(data.train_x)}, test {len(data.test_x)}", flush=True)

    model.compile("adam", lr=0.001)
    callbacks = [_TimeLimit(args.time_limit, dde)] if args.time_limit else []
    t0 = time.perf_counter()
    model.train(iterations=args.iterations, callbacks=callbacks)
    t_adam = time.perf_counter() - t0
    it_adam = model.train_state.iteration
    print(f"Adam: {it_adam} iterations in {t_adam:.1f} s", flush=True)

    t_lbfgs, it_lbfgs = 0.0, 0
    if not args.no_lbfgs and not args.time_limit:
        model.compile("L-BFGS")
        print("L-BFGS options:", dict(dde.optimizers.config.LBFGS_options), flush=True)
        t1 = time.perf_counter()
        model.train()
        t_lbfgs = time.perf_counter() - t1
        it_lbfgs = model.train_state.iteration - it_adam
        print(f"L-BFGS: {it_lbfgs} iterations in {t_lbfgs:.1f} s", flush=True)
    wall_s = t_adam + t_lbfgs

    pts = ensure_points(args.points)
    u = np.asarray(model.predict(pts), dtype=np.float64).reshape(-1)

    lh, ts = model.losshistory, model.train_state
    loss_train = np.array([np.asarray(v, dtype=np.float64) for v in lh.loss_train])
    loss_test = np.array([np.asarray(v, dtype=np.float64) for v in lh.loss_test])
    final_train = np.asarray(ts.loss_train, dtype=np.float64)
    final_test = np.asarray(ts.loss_test, dtype=np.float64)
    np.savez(
        args.out,
        u=u,
        wall_s=np.float64(wall_s),
        adam_wall_s=np.float64(t_adam),
        lbfgs_wall_s=np.float64(t_lbfgs),
        adam_iterations=np.int64(it_adam),
        lbfgs_iterations=np.int64(it_lbfgs),
        precision=np.str_(args.precision),
        seed=np.int64(args.seed),
        loss_steps=np.asarray(lh.steps, dtype=np.int64),
        loss_train=loss_train,  # rows: [pde residual MSE, boundary MSE] at each display step
        loss_test=loss_test,  # test: [pde residual MSE on num_test points, boundary MSE]
        final_loss_train=final_train,
        final_loss_test=final_test,
        best_step=np.int64(ts.best_step),
        torch_threads=np.int64(torch.get_num_threads()),
        deepxde_version=np.str_(dde.__version__),
        torch_version=np.str_(torch.__version__),
        points_file=np.str_(Path(args.points).name),
    )
    print(f"final train loss {final_train.tolist()} (sum {final_train.sum():.3e})")
    print(f"final test  loss {final_test.tolist()} (sum {final_test.sum():.3e})")
    print(f"wall_s {wall_s:.1f} (adam {t_adam:.1f}, lbfgs {t_lbfgs:.1f}); "
          f"u on {len(u)} points, range [{u.min():.5f}, {u.max():.5f}]; wrote {args.out}")


def _TimeLimit(seconds, dde):
    """A DeepXDE callback that ends training once ``seconds`` have passed since it began."""

    class TimeLimit(dde.callbacks.Callback):
        def on_train_begin(self):
            self.began = time.perf_counter()

        def on_epoch_end(self):
            if time.perf_counter() - self.began >= seconds:
                self.model.stop_training = True

    return TimeLimit()


if __name__ == "__main__":
    main()
