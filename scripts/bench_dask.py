#!/usr/bin/env python
"""Benchmark the --dask stages against the single process, and predict larger clusters.

The full text8like corpus (25M tokens) is cut into --files plain-text files (contiguous
lines, equal line counts). For each stage the single-process command and the same command
with --dask run back to back, each as its own process:

  vocab     staticvec vocab FILES -o V --min-count 5 [--dask ADDRESS]
  encoding  single process: text.encoded.encode_corpus(FILES, V) (what every trainer does
            first, into a private temporary folder); --dask: scale.encoding.encode_shards
            (what --dask --encoded-dir runs: one uint32 shard file per input shard, and the
            manifest, in a folder), when this checkout has it
  cooccur   staticvec train-glove FILES --vocab V --window 10 --epochs 1 --threads 1
            --no-cache [--dask ADDRESS]: the co-occurrence stage is the run's prepare +
            cooccur + shuffle seconds (its --json-summary), i.e. everything from the
            vocabulary to the shuffled records; the 1-epoch fit is shown apart

The cluster is one LocalCluster(processes=True) of --workers worker processes (one thread
each) that this script starts once and hands to the commands as --dask tcp://...: its
start-up (what ``--dask local:N`` adds to a run) is measured once and shown apart, and
Dask's task stream gives every task's compute time. Peak RSS is sampled (every 0.1 s) per
process: the command's own process (the client), and each worker process while the command
runs (a worker's RSS includes what earlier stages left in its heap).

Model (see ``predict``): a stage on W workers takes
    T(W) = C + ceil(M / W) * t_map + ceil(R / W) * t_reduce + n_tasks * o
where C is the client-side serial time (the stage's wall time minus the time any task was
running), M and R the map and reduce task counts, M = 4W map tasks (groups of shards) and
R = W partitions, as train-glove --dask makes them (t_map = measured map seconds per token x tokens per shard;
t_reduce = the measured total merge seconds / R), and o the scheduler's overhead per task,
measured here with no-op tasks and, for comparison, Dask's documented ~1 ms. n_tasks counts
the maps, the merges and the small tasks that hand one map output's partition to a merge
(M x R of them for the co-occurrence shuffle: the term that grows fastest).
Assumptions: workers as fast per core as here (this 2-core machine is shared, so this is
pessimistic), perfect balance of equal shards, the client's serial part not shrinking with
W (it is the merge at the client, reading the vocabulary, feeding records), the network
moving map outputs at least as fast as they are computed, and the total merge work staying
what it is here (it grows a little with M: fewer pairs combine inside one shard).

Usage:
  nice -n 5 python scripts/bench_dask.py                        # 25M tokens, 16 files, 2 workers
  python scripts/bench_dask.py --tokens 2000000 --stages vocab,cooccur
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import DEFAULT_DATA, REPO

STAGES = ("vocab", "encoding", "cooccur")
PREDICT = (8, 32, 128)


def split_corpus(source, files, tokens, folder):
    """The first ``tokens`` tokens of ``source`` (all if 0) as ``files`` plain files of
    contiguous lines, equal line counts; returns (paths, tokens)."""
    import lzma

    opener = lzma.open if str(source).endswith(".xz") else open
    with opener(source, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    if tokens:
        kept, left = [], tokens
        for line in lines:
            words = line.split()
            if not words:
                continue
            kept.append(" ".join(words[:left]))
            left -= min(left, len(words))
            if not left:
                break
        lines = kept
    n_tokens = sum(len(line.split()) for line in lines)
    paths = []
    for i in range(files):
        part = lines[len(lines) * i // files:len(lines) * (i + 1) // files]
        path = Path(folder) / f"part{i:03d}.txt"
        path.write_text("\n".join(part) + "\n", encoding="utf-8")
        paths.append(str(path))
    return paths, n_tokens


class Sampler:
    """Peak RSS per process of a command's process tree and of the given extra pids."""

    def __init__(self, pid, extra=()):
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.extra = [psutil.Process(p) for p in extra]
        self.peaks = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                procs = [self.root] + self.root.children(recursive=True)
            except self.psutil.Error:
                procs = []
            for p in procs + self.extra:
                try:
                    rss = p.memory_info().rss
                except self.psutil.Error:
                    continue
                self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), rss)
            self.stop.wait(0.1)

    def finish(self):
        self.stop.set()
        self.thread.join()
        return self.peaks


def run(cmd, worker_pids=(), env=None):
    """(wall s, {pid: peak RSS MB}, stdout, stderr, returncode) of ``cmd``."""
    started = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    sampler = Sampler(proc.pid, worker_pids)
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    peaks = sampler.finish()
    return (wall, {pid: rss / 2**20 for pid, rss in peaks.items()}, out.decode(),
            err.decode(), proc.returncode)


def task_times(client, since, until):
    """{task prefix: [compute seconds of each task]} from Dask's task stream, and the
    seconds during which at least one task was computing (the union of their spans)."""
    from dask.utils import key_split

    spans, by_prefix = [], {}
    for t in client.get_task_stream(start=since, stop=until):
        for ss in t.get("startstops", ()):
            if ss["action"] == "compute":
                by_prefix.setdefault(key_split(t["key"]), []).append(ss["stop"] - ss["start"])
                spans.append((ss["start"], ss["stop"]))
    busy, end = 0.0, -math.inf
    for a, b in sorted(spans):
        if b > end:
            busy += b - max(a, end)
            end = b
    return by_prefix, busy


def overhead_per_task(client, n=1000):
    """Wall seconds per no-op task, submitted all at once, on this cluster."""
    futures = client.map(lambda x: x, range(n), pure=False)
    client.gather(futures)              # warm-up: functions shipped, connections made
    started = time.perf_counter()
    futures = client.map(lambda x: x + 1, range(n), pure=False)
    client.gather(futures)
    return (time.perf_counter() - started) / n


def staticvec(*args):
    return [sys.executable, "-m", "staticvec", *args]


ENCODE_SINGLE = r"""
import sys
from staticvec.text.encoded import encode_corpus
from staticvec.text.vocab import Vocab
vocab = Vocab.load(sys.argv[1])
enc = encode_corpus(sys.argv[2:], vocab, cache=False)
print(enc.n_tokens)
"""


ENCODE_DASK = r"""
import sys
from distributed import Client
from staticvec.scale import inputs
from staticvec.scale.encoding import encode_shards
from staticvec.text.vocab import Vocab
vocab = Vocab.load(sys.argv[2])
with Client(sys.argv[1]) as client:
    shards = inputs.plan_shards(inputs.expand(sys.argv[4:]))
    manifest = encode_shards(client, shards, vocab, sys.argv[3])
print(manifest["n_tokens"])
"""


def commands(stage, files, work, address):
    """(single-process command, --dask command or None, summary paths)."""
    vocab = work / "vocab.txt"
    if stage == "vocab":
        return (staticvec("vocab", *files, "-o", vocab, "--min-count", 5, "-q"),
                staticvec("vocab", *files, "-o", work / "vocab-dask.txt", "--min-count", 5,
                          "-q", "--dask", address), None)
    if stage == "encoding":
        dask = None
        if (REPO / "staticvec" / "scale" / "encoding.py").exists():
            dask = [sys.executable, "-c", ENCODE_DASK, address, vocab, work / "encoded", *files]
        return [sys.executable, "-c", ENCODE_SINGLE, vocab, *files], dask, None
    glove = ["train-glove", *files, "--vocab", vocab, "--window", 10, "--epochs", 1,
             "--threads", 1, "--no-cache", "--dim", 50, "-q"]
    one, many = work / "glove-one.json", work / "glove-dask.json"
    return (staticvec(*glove, "-o", work / "g1.txt", "--json-summary", one),
            staticvec(*glove, "-o", work / "g2.txt", "--json-summary", many, "--dask", address),
            (one, many))


def cooccur_seconds(summary_path):
    s = json.loads(Path(summary_path).read_text())["seconds"]
    return s.get("prepare", 0) + s.get("cooccur", 0) + s.get("shuffle", 0), s.get("fit", 0)


def stage_wall(row):
    """The --dask run's wall seconds of the stage itself (co-occurrence: without the fit)."""
    return row.get("dask_stage_s", row["dask_wall"])


def predict(row, tokens, overhead, workers_now, partitions_now):
    """T(W) for W in PREDICT (see the module docstring); None when there were no tasks."""
    tasks = row.get("tasks") or {}
    if not tasks:
        return None
    # the heaviest group of tasks is the map; the other compute-heavy ones (merges) are the
    # reduce work, taken as constant in total (it is the size of the merged counts);
    # "pick" tasks (a map task's output for one partition) cost only scheduler time
    heavy = max(tasks, key=lambda k: sum(tasks[k]))
    map_seconds = sum(tasks[heavy])
    other = sum(sum(v) for k, v in tasks.items() if k not in (heavy, "pick"))
    n_maps = max(len(tasks[heavy]), 1)
    per_token = map_seconds / tokens
    serial = max(stage_wall(row) - row["busy"], 0.0)
    # the measured run's tasks: one "pick" per (map task, partition) pair when the stage
    # shuffles (co-occurrence), the rest counted per map task
    pairs = n_maps * partitions_now if len(tasks.get("pick", ())) >= n_maps * partitions_now \
        else 0
    per_pair = 1.0 if pairs else 0.0
    others = (sum(len(v) for v in tasks.values()) - pairs) / n_maps
    out = {}
    for w in PREDICT:
        m = 4 * w               # map tasks: groups of shards, 4 per worker (map_groups)
        r = w                   # partitions: one per worker (default_partitions)
        n_tasks = m * others + m * r * per_pair
        out[w] = serial + math.ceil(m / w) * per_token * tokens / m + \
            math.ceil(r / w) * other / r + n_tasks * overhead
        out[f"{w}_tasks"] = n_tasks
    out["now"] = serial + map_seconds / workers_now + other / workers_now
    return out


def report_model(results):
    """The model's predictions from saved results (--from-json)."""
    w, tokens = results["workers"], results["tokens"]
    for stage, row in results["stages"].items():
        if "tasks" not in row:
            continue
        for name, overhead in (("measured", results["overhead_s"]), ("1 ms", 1e-3)):
            pred = predict(row, tokens, overhead, w, w)
            print(f"{stage:9} {name:8} ({overhead * 1e3:.2f} ms/task): now {pred['now']:.1f} s "
                  f"(measured {stage_wall(row):.1f} s); " + ", ".join(
                      f"{k} workers {pred[k]:.1f} s ({pred[f'{k}_tasks']:,.0f} tasks)"
                      for k in PREDICT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--tokens", type=int, default=0, help="first N tokens (0: all)")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--from-json", default=None,
                        help="print the model again from a --json file of an earlier run")
    args = parser.parse_args(argv)
    if args.from_json:
        return report_model(json.loads(Path(args.from_json).read_text()))
    import distributed
    import logging

    source = args.corpus or os.path.join(args.data, "corpus", "text8like.txt.xz")
    work = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    files, tokens = split_corpus(source, args.files, args.tokens, work)
    print(f"corpus: {tokens:,} tokens of {source} in {len(files)} files; "
          f"{args.workers} worker processes", flush=True)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    os.environ.update(env)              # the workers import this checkout too
    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                       processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    startup = time.perf_counter() - started
    worker_pids = list(client.run(os.getpid).values())
    client.get_task_stream()            # installs the task-stream plugin
    overhead = overhead_per_task(client)
    print(f"cluster start-up {startup:.2f} s; scheduler overhead {overhead * 1e3:.2f} ms/task "
          f"(no-op tasks, {args.workers} workers)", flush=True)
    results = {"tokens": tokens, "files": len(files), "workers": args.workers,
               "startup_s": startup, "overhead_s": overhead, "stages": {}}
    stages = [s for s in args.stages.split(",") if s]
    if "vocab" not in stages:           # the later stages read it
        vocab_cmd = commands("vocab", files, work, None)[0]
        subprocess.run([str(c) for c in vocab_cmd], check=True, env=env)
    for stage in stages:
        one, many, summaries = commands(stage, files, work, cluster.scheduler_address)
        wall1, peaks1, _, err, rc = run(one, env=env)
        if rc:
            sys.exit(f"{stage}: single process failed: {err[-2000:]}")
        row = {"single_wall": wall1, "single_rss_mb": max(peaks1.values())}
        if many is not None:
            since = time.time()
            wall2, peaks2, _, err, rc = run(many, worker_pids, env=env)
            until = time.time()
            if rc:
                print(f"{stage}: --dask run failed ({err.strip()[-300:]})", flush=True)
                many = None
            else:
                tasks, busy = task_times(client, since, until)
                row.update(dask_wall=wall2, busy=busy, tasks=tasks,
                           client_rss_mb=max(v for p, v in peaks2.items() if p not in worker_pids),
                           worker_rss_mb=[peaks2.get(p, 0.0) for p in worker_pids])
        if summaries is not None:
            row["single_stage_s"], row["single_fit_s"] = cooccur_seconds(summaries[0])
            if many is not None:
                row["dask_stage_s"], row["dask_fit_s"] = cooccur_seconds(summaries[1])
        if many is not None:
            row["predicted_s"] = predict(row, tokens, overhead, args.workers, args.workers)
        results["stages"][stage] = row
        line = f"{stage:9} single {wall1:7.1f} s RSS {row['single_rss_mb']:6.0f} MB"
        if "single_stage_s" in row:
            line += f" (stage {row['single_stage_s']:.1f} s, fit {row['single_fit_s']:.1f} s)"
        if many is not None:
            line += (f" | dask {row['dask_wall']:7.1f} s (+{startup:.1f} s start-up)"
                     f" client RSS {row['client_rss_mb']:5.0f} MB, workers "
                     + "/".join(f"{r:.0f}" for r in row["worker_rss_mb"]) + " MB")
            if "dask_stage_s" in row:
                line += f" (stage {row['dask_stage_s']:.1f} s, fit {row['dask_fit_s']:.1f} s)"
        else:
            line += " | dask: not available in this checkout"
        print(line, flush=True)
        if many is not None:
            for prefix, times in sorted(row["tasks"].items()):
                print(f"    tasks {prefix:22} n={len(times):4d} mean {sum(times) / len(times):7.3f} s"
                      f"  max {max(times):7.3f} s  total {sum(times):7.2f} s", flush=True)
            pred = row["predicted_s"]
            print(f"    serial (client) {max(stage_wall(row) - row['busy'], 0):.1f} s; model: "
                  f"now {pred['now']:.1f} s (measured {stage_wall(row):.1f} s); "
                  + ", ".join(f"{w} workers {pred[w]:.1f} s ({pred[f'{w}_tasks']:,.0f} tasks)"
                              for w in PREDICT), flush=True)
            row["predicted_1ms"] = predict(row, tokens, 1e-3, args.workers, args.workers)
            print("    the same at 1 ms/task (Dask's documented overhead): " + ", ".join(
                f"{w} workers {row['predicted_1ms'][w]:.1f} s" for w in PREDICT), flush=True)
    client.close()
    cluster.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
