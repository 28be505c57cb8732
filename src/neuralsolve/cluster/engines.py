"""Where a sweep's members are solved: in this process one after another, or as Ray tasks.

An engine's ``map(directories, items)`` solves the member run in each directory and yields
``(item, result)`` as each one ends, in the order they end. A result is the member's summary
(:func:`.member.summary`) or, when it could not finish, ``{"status": "error" | "lost", "message"}``.
"""

from __future__ import annotations

import logging
import os
import pathlib

from .._errors import ProblemError
from ..cores import one_device
from .member import attempts, run_member

INSTALL = "pip install 'neuralsolve[cluster]'"


def choose(address: str | None, workers: int | None, checkpoint_every: float, report: bool = False):
    """This process for one worker (no Ray needed); else Ray when it is installed (a local instance,
    or the cluster at ``address``), else this process with a note for the user. Returns the engine
    and the note (None when there is nothing to say)."""
    if workers == 1 and address is None:
        return InProcess(checkpoint_every, report), None
    try:
        import ray  # noqa: F401
    except ImportError:
        if address is not None:
            raise ProblemError(f"--address needs Ray, which is not installed: {INSTALL}") from None
        note = f"Ray is not installed: the members run one after another in this process ({INSTALL} to run them in parallel)"
        return InProcess(checkpoint_every, report), note
    return RayEngine(address, workers, checkpoint_every, report), None


class InProcess:
    """Members one after another, in this process."""

    name = "in-process"

    def __init__(self, checkpoint_every: float = 10.0, report: bool = False):
        self.checkpoint_every, self.report = checkpoint_every, report

    def map(self, directories, items):
        for directory, item in zip(directories, items):
            try:
                result = run_member(directory, self.checkpoint_every, report=self.report)
            except ProblemError as err:
                result = {"status": "error", "message": str(err), "attempts": attempts(directory)}
            yield item, result

    def close(self) -> None:
        pass


class RayEngine:
    """Members as Ray tasks, one CPU each. A task whose worker or node dies is run again (up to
    ``retries`` times) and resumes from its member's checkpoint. The sweep's folder must be on a
    file system that every node sees (it is on one machine; on a cluster, a shared volume)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, checkpoint_every: float = 10.0,
                 report: bool = False, retries: int = 3, poll: float = 1.0):  # fmt: skip
        self.started = connect(address, workers)
        self.address = address or "local"
        self.limit = workers if address is not None else None  # a local instance has exactly ``workers`` CPUs
        self.checkpoint_every, self.report, self.retries, self.poll = checkpoint_every, report, retries, poll

    def map(self, directories, items):
        import ray

        task = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=False)(solve_remotely)
        queue, running = list(zip(directories, items)), {}
        while queue or running:
            while queue and (self.limit is None or len(running) < self.limit):
                directory, item = queue.pop(0)
                ref = task.remote(str(pathlib.Path(directory).resolve()), self.checkpoint_every, self.report)
                running[ref] = (directory, item)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=self.poll)
            for ref in ready:
                directory, item = running.pop(ref)
                yield item, _collect(ref, directory)

    def close(self) -> None:
        import ray

        if self.started and ray.is_initialized():
            ray.shutdown()


def connect(address: str | None, workers: int | None) -> bool:
    """Connect to Ray unless this process already is: a new local instance with ``workers`` CPUs
    (all by default) when ``address`` is None — never a cluster left running on this machine —
    else the cluster at ``address``. True when this call connected (the caller shuts it down)."""
    import ray

    if ray.is_initialized():
        return False  # a caller's own Ray: used as it is, left running
    # a local instance's workers start with this process's environment: one CPU each, one device
    local = {"env_vars": {"XLA_FLAGS": one_device(os.environ.get("XLA_FLAGS", ""))}} if address is None else None
    try:
        ray.init(address=address or "local", num_cpus=workers if address is None else None, include_dashboard=False,
                 log_to_driver=False, logging_level=logging.WARNING, runtime_env=local)  # fmt: skip
    except ConnectionError as err:
        raise ProblemError(f"--address {address}: cannot connect ({err}){_token_hint(err)}") from None
    return True


def solve_remotely(directory: str, checkpoint_every: float, report: bool) -> dict:
    """A Ray task's body: solve the member in ``directory``, saying on which node it runs."""
    import ray

    from ..compile_cache import enable_compilation_cache

    enable_compilation_cache()  # members of one shape compile once per node, not once per member
    return run_member(directory, checkpoint_every, where=ray.get_runtime_context().get_node_id(), report=report)


def _collect(ref, directory) -> dict:
    """A finished task's result; an error or a lost task as a result that says so."""
    import ray

    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:  # the member itself raised (a bad setting, a bug)
        cause = err.cause if getattr(err, "cause", None) is not None else err
        return {"status": "error", "message": str(cause).strip().splitlines()[-1], "attempts": attempts(directory)}
    except ray.exceptions.RayError as err:  # its worker or node died more often than it may be retried
        return {"status": "lost", "message": f"{type(err).__name__}: its worker or node died; "
                f"continue with 'neuralsolve sweep --resume'", "attempts": attempts(directory)}  # fmt: skip


def _token_hint(err: BaseException) -> str:
    """What to do when the cluster refused us for want of its authentication token."""
    causes = []
    while err is not None:
        causes.append(str(err))
        err = err.__cause__
    if not any("InvalidAuthToken" in c for c in causes):
        return ""
    return ("; the cluster asks for its authentication token: set RAY_AUTH_MODE=token, with the token in "
            "~/.ray/auth_token or RAY_AUTH_TOKEN (Ray's token authentication)")


class RayExecutor:
    """A ``concurrent.futures``-style executor whose tasks are Ray tasks (one CPU each), for the
    classical solves behind an operator's data set. Connects to Ray on first use (a local instance,
    or the cluster at ``address``) and shuts down only a Ray it started."""

    def __init__(self, address: str | None = None, workers: int | None = None):
        self.started = connect(address, workers)
        self.tasks = {}

    def submit(self, fn, *args):
        """Run ``fn(*args)`` as a Ray task; a ``concurrent.futures.Future`` of its result."""
        import ray

        task = self.tasks.setdefault(fn, ray.remote(num_cpus=1, max_retries=3)(fn))
        return task.remote(*args).future()

    def close(self) -> None:
        import ray

        if self.started and ray.is_initialized():
            ray.shutdown()
