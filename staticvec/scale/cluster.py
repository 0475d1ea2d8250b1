"""``--dask ADDRESS``: the Dask cluster a scale-out job runs its tasks on.

``local:N`` starts a ``LocalCluster`` of N worker processes (one thread each: the counters
and encoders are C loops that hold no lock, and a process per core is what a big machine
gives them) and closes it when the job ends; anything else is the address of a running
scheduler (``tcp://host:8786``, ``tls://...``, ``host:8786``), e.g. one that dask-jobqueue
started on a Slurm cluster. Dask is imported here only, when ``connect`` runs: without
``--dask`` nothing imports it. Without Dask installed, ``--dask`` is one error line naming
the ``dask`` extra.
"""
import contextlib
import logging
import re

from staticvec.errors import BadOptionError, StaticvecError

log = logging.getLogger(__name__)

MAX_LOCAL_WORKERS = 1024
RETRIES = 2  # a task that fails (a worker lost, a flaky read) is run again this many times
CONNECT_TIMEOUT = "30s"
_LOCAL = re.compile(r"local:([0-9]{1,7})")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST = re.compile(r"[A-Za-z0-9_.\-\[\]:/]+")


def check_address(address):
    """Refuse a value of --dask that is neither ``local:N`` nor a scheduler address."""
    text = str(address)
    local = _LOCAL.fullmatch(text)
    if local:
        if not 1 <= int(local.group(1)) <= MAX_LOCAL_WORKERS:
            raise BadOptionError(f"--dask must be local:N with N in [1, {MAX_LOCAL_WORKERS}] "
                                 f"workers, or a scheduler address (got {text})")
        return
    scheme, _, rest = text.rpartition("://")
    if text.startswith("local") or not _HOST.fullmatch(rest) or \
            (scheme and not _SCHEME.fullmatch(scheme)) or (not scheme and ":" not in rest):
        raise BadOptionError(f"--dask must be local:N (N worker processes on this machine) or "
                             f"a scheduler address such as tcp://host:8786 (got {text})")


def _distributed():
    try:
        import distributed
    except ImportError:
        raise StaticvecError("--dask needs Dask: install the dask extra "
                             "(pip install 'staticvec[dask]')") from None
    return distributed


@contextlib.contextmanager
def _workers_starting():
    """While a local cluster starts its worker processes: Ctrl-C and SIGTERM (which reach
    the whole process group) are held and delivered here once it has started (an interrupted
    start leaves Dask's exit handlers printing tracebacks), and the workers are born with
    /dev/null as their stderr (a worker that takes the signal while it starts would print
    one; their failures reach this process as exceptions). Once started, the workers ignore
    SIGINT (``scale/worker.py``): this process stops them."""
    import os
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = []
    handlers = {sig: signal.signal(sig, lambda signum, frame: held.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    saved = None
    try:
        try:
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:
            pass
        yield
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        for signum in held[:1]:
            handler = handlers[signum]
            if callable(handler):
                handler(signum, None)
            raise KeyboardInterrupt()


@contextlib.contextmanager
def connect(address):
    """A ``distributed.Client`` for --dask ``address`` (see the module docstring), closed
    (and a local cluster shut down) when the block ends."""
    check_address(address)
    distributed = _distributed()
    local = _LOCAL.fullmatch(str(address))
    cluster = client = None
    # Dask's own log lines (a heartbeat lost while a cluster shuts down, a retried task)
    # would break the one-line contract on stderr; a failure reaches us as an exception
    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        if local:
            workers = int(local.group(1))
            log.info(f"dask: starting a local cluster of {workers} worker process"
                     f"{'es' if workers > 1 else ''}")
            failed = None
            with _workers_starting():
                try:
                    cluster = distributed.LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=":0", silence_logs=logging.CRITICAL,
                        preload=["staticvec.scale.worker"])
                except (OSError, RuntimeError, TimeoutError) as exc:
                    failed = exc  # (raised once a held Ctrl-C has had its turn)
            if failed is not None:
                raise StaticvecError(f"cannot start a local Dask cluster of {workers} "
                                     f"workers ({failed})") from None
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise StaticvecError(f"cannot connect to the Dask scheduler at {address} "
                                     f"({exc})") from None
            log.info(f"dask: connected to {address} "
                     f"({len(client.scheduler_info().get('workers', {}))} workers)")
        yield client
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        quiet.setLevel(level)


def tree_reduce(client, futures, merge, fan_in=8, **kwargs):
    """One future holding ``merge(*parts, **kwargs)`` applied in a tree over ``futures``
    (``fan_in`` parts a task, in order, so a merge that is not commutative stays right);
    each merge runs on a worker, retried as a map task is."""
    futures = list(futures)
    if not futures:
        raise ValueError("nothing to reduce")
    while len(futures) > 1:
        futures = [client.submit(merge, *futures[i:i + fan_in], retries=RETRIES, pure=False,
                                 **kwargs)
                   for i in range(0, len(futures), fan_in)]
    return futures[0]


def wait_all(futures, progress=None, name="tasks"):
    """Wait for ``futures``, reporting how many have finished to ``progress`` (a Stage
    counting tasks); the first failure is raised as the worker raised it."""
    from staticvec.reporting import Stage

    distributed = _distributed()
    try:
        with Stage(progress, name, len(futures), unit="tasks") as stage:
            done = 0
            for future in distributed.as_completed(futures):
                if future.status != "finished":
                    future.result()  # raises the task's own exception
                done += 1
                stage.update(done)
    except BaseException:
        futures[0].client.cancel(futures)  # the job has failed: its other tasks too
        raise
