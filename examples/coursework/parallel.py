"""Training independent models at the same time, one worker process each, so every core does all the work.

Why. In one process, OpenBLAS splits each matrix product over all the cores, but everything else
(activations, the loss, Adam: about 40% of a dense-autoencoder epoch here) runs on one core, and at
the end of every product one BLAS thread waits for the other: on a machine where another program
holds a core, that wait can make a product 10 to 50 times slower. The Q2A example trains several
models that do not depend on each other. Each in its own process, with its share of the cores for
its BLAS (one thread when there are at least as many jobs as cores), keeps every core busy with all
of the work, and a one-thread product never waits for another thread.

How. ``run_jobs(fn, jobs_args, workers=...)`` calls ``fn(*args, on_epoch_end=report)`` for every
``args`` in worker processes started fresh ("spawn": the same on Linux, macOS and Windows), and
returns the results in the order of ``jobs_args``. Arguments and results travel by pickling (NumPy
arrays included), so ``fn`` must be a module-level function. ``report(record)`` sends an epoch's
record (see ``scratchnet.train.fit``'s ``on_epoch_end``) to this process, which shows one progress
bar per job. The workers use the same array backend as this process. An exception in a job stops
the others and is raised here.

``workers=1`` runs the jobs here, one after another (nothing is pickled): the default on a GPU,
where one process already keeps the device busy, and on a one-core machine.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading

from scratchnet import backend
from scratchnet.train import epoch_values

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - tqdm is a dependency; without it, lines are printed
    _tqdm = None

#: environment variables that set a BLAS/OpenMP library's thread count; read when it loads
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def default_workers(n_jobs: int) -> int:
    """One process per job on a CPU with at least 2 cores (more processes than cores is fine: each
    has one BLAS thread, and the jobs finish together); 1 (this process) on a GPU or a single core."""
    if backend.name != "numpy" or (os.cpu_count() or 1) < 2:
        return 1
    return max(1, n_jobs)


def check_workers(workers, n_jobs) -> int:
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    return min(workers, max(1, n_jobs))


@contextlib.contextmanager
def _thread_limit_for_children(threads):
    """Set the BLAS thread variables while worker processes start (they read them at import)."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _ctrl_c_held():
    """Block SIGINT while worker processes start: they inherit the blocked signal, so a Ctrl-C at the
    terminal (which reaches every process of its group) never interrupts a worker, even one still
    importing; this process gets it as soon as the block ends, and stops the workers."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: the initializer's SIG_IGN alone
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


# ----- in the worker ------------------------------------------------------------------------------
_messages = None  # the queue back to the parent, set when the worker starts


def _start_worker(messages, backend_name):
    global _messages
    _messages = messages
    backend.use(backend_name)
    # Ctrl-C reaches every process of the terminal's group; this one leaves it to the parent, which
    # stops the workers (pool.terminate), so one message is printed instead of one per worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_job(fn, index, args):
    def report(record):
        _messages.put((index, record))

    return fn(*args, on_epoch_end=report)


# ----- in the parent ------------------------------------------------------------------------------
class _Progress:
    """One bar per job (or a printed line every 10% of a job's epochs without tqdm)."""

    def __init__(self, labels, totals, enabled):
        self.labels, self.totals, self.enabled = labels, totals, enabled
        self.done = [0] * len(labels)
        self.bars = None
        if enabled and _tqdm is not None:
            self.bars = [_tqdm(total=total, desc=label, unit="epoch", position=i, leave=True, dynamic_ncols=True)
                         for i, (label, total) in enumerate(zip(labels, totals))]

    def update(self, index, record):
        self.done[index] += 1
        if not self.enabled:
            return
        shown = epoch_values(record)
        if self.bars is not None:
            self.bars[index].set_postfix(shown, refresh=False)
            self.bars[index].update(1)
        elif self.done[index] % max(1, self.totals[index] // 10) == 0 or self.done[index] == self.totals[index]:
            values = " - ".join(f"{k}: {v}" for k, v in shown.items())
            print(f"{self.labels[index]} epoch {self.done[index]}/{self.totals[index]} - {values}",
                  file=sys.stderr, flush=True)

    def close(self):
        for bar in self.bars or ():
            bar.close()


def _listen(messages, progress):
    """Show each epoch record as it arrives, until the None that run_jobs sends at the end. A record
    that cannot be shown costs its own line of progress, not every later one (nor the run)."""
    while (message := messages.get()) is not None:
        try:
            progress.update(*message)
        except Exception as error:  # a display problem only: the jobs and their results go on
            print(f"progress: cannot show {message!r}: {error!r}", file=sys.stderr, flush=True)


def run_jobs(fn, jobs_args, *, workers, labels=None, epochs=None, progress=True):
    """``[fn(*args, on_epoch_end=...) for args in jobs_args]``, in up to ``workers`` processes.

    ``labels`` and ``epochs`` (one per job) name the progress bars and give their lengths; with
    ``progress=False`` nothing is shown. Returns the results in the order of ``jobs_args``.
    """
    jobs_args = [tuple(args) for args in jobs_args]
    workers = check_workers(workers, len(jobs_args))
    labels = labels or [f"job {i + 1}" for i in range(len(jobs_args))]
    epochs = epochs or [0] * len(jobs_args)
    if len(labels) != len(jobs_args) or len(epochs) != len(jobs_args):
        raise ValueError(f"run_jobs: labels and epochs need one entry per job ({len(jobs_args)}), "
                         f"got {len(labels)} labels and {len(epochs)} epoch counts")
    if workers == 1:
        return [fn(*args, on_epoch_end=None) for args in jobs_args]

    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    shown = _Progress(labels, epochs, progress)
    listener = threading.Thread(target=_listen, args=(messages, shown), daemon=True)
    listener.start()
    pool = None
    children_before = set(multiprocessing.active_children())
    try:
        with _thread_limit_for_children(max(1, (os.cpu_count() or 1) // workers)), _ctrl_c_held():
            pool = context.Pool(workers, initializer=_start_worker, initargs=(messages, backend.name))
        pool_processes = set(multiprocessing.active_children()) - children_before
        failed = threading.Event()
        pending = [pool.apply_async(_run_job, (fn, i, args), error_callback=lambda _: failed.set())
                   for i, args in enumerate(jobs_args)]
        while not failed.is_set() and not all(job.ready() for job in pending):
            failed.wait(0.2)
            # a pool replaces a worker that dies (killed, out of memory) but loses its job: never wait for it
            dead = [p for p in pool_processes if not p.is_alive()]
            if dead:
                raise RuntimeError(f"a worker process ended in the middle of a job (exit code {dead[0].exitcode}: "
                                   f"killed, or out of memory?); run with fewer workers (--jobs) or --jobs 1")
        for job in pending:  # the first failure (raised with the worker's traceback as its cause)
            if job.ready() and not job.successful():
                job.get()
        return [job.get() for job in pending]
    finally:
        if pool is not None:
            pool.terminate()  # stops jobs still running after a failure or Ctrl-C
            pool.join()
        for child in set(multiprocessing.active_children()) - children_before:  # a pool that never finished starting
            child.terminate()
            child.join()
        messages.put(None)
        listener.join(timeout=5)
        shown.close()
