"""Preloaded in the worker processes of ``--dask local:N`` (``cluster.connect``): Ctrl-C
reaches the whole process group, and the process that started the cluster stops it; a worker
that took SIGINT itself would print a traceback, so the workers ignore it."""
import signal


def dask_setup(worker):
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread of its process: nothing to change there
        pass
