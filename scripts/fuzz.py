#!/usr/bin/env python3
"""Fuzz one of staticvec's readers with atheris (coverage-guided libFuzzer for Python).

    scripts/fuzz.py --list                              the harnesses
    scripts/fuzz.py HARNESS --seconds 600               fuzz under a 2 GB address-space limit
    scripts/fuzz.py HARNESS --smoke 300                 seeds + 300 mutations, no atheris needed
    scripts/fuzz.py HARNESS --replay FILE_OR_DIR...     run saved inputs (regressions)
    scripts/fuzz.py HARNESS --minimize FILE [-o OUT]    shrink a finding's reproducer

The harnesses live in scripts/fuzz_targets.py: a finding is any exception other than a
staticvec.errors.StaticvecError, any Python warning, a native crash, a timeout or running
out of memory. Fuzzing runs in a child process; after a Python finding the child is
restarted on the same corpus with that finding's signature (exception type and staticvec
line) ignored, so one run reports every distinct crash it reaches. Exit status: 0 no
finding, 1 findings, 2 usage. Needs ``pip install -e '.[fuzz]'`` for the atheris modes.
The tree fuzzed is the one this script lives in.
"""
import argparse
import glob
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
for _path in (HERE, REPO):
    if _path not in sys.path:
        sys.path.insert(0, _path)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threads reserve address space

import fuzz_targets  # noqa: E402

_KNOWN_ENV = "STATICVEC_FUZZ_KNOWN"     # JSON list of signatures the child ignores
_REPORT_ENV = "STATICVEC_FUZZ_REPORT"   # where the child writes a Python finding
_COUNT_ENV = "STATICVEC_FUZZ_COUNT"     # where the child writes its execution count
_TMP_ENV = "STATICVEC_FUZZ_TMP"         # the child's scratch folder (removed by the parent)


def limit_address_space(megabytes):
    """RLIMIT_AS in this process: a header that makes a reader allocate from its claims
    fails with MemoryError (a finding) instead of taking the machine down."""
    if megabytes:
        limit = megabytes << 20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _message(exc):
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:300]


def run_inputs(name, inputs):
    """[(label, signature, message)] for every input of ``inputs`` that is a finding."""
    run = fuzz_targets.HARNESSES[name]
    found = []
    for label, data in inputs:
        try:
            run(data)
        except Exception as exc:  # a finding: anything but the project's errors
            found.append((label, fuzz_targets.signature(exc), _message(exc)))
    return found


def _signature_of(run, data):
    try:
        run(data)
    except Exception as exc:
        return fuzz_targets.signature(exc), _message(exc)
    return None, None


def minimize(name, data, budget=4000):
    """The shortest input found by deleting chunks of ``data`` that keeps its finding's
    signature (exception type and staticvec line): small reproducers for regressions."""
    run = fuzz_targets.HARNESSES[name]
    target, _ = _signature_of(run, data)
    if target is None:
        return data
    chunk = max(len(data) // 2, 1)
    while chunk >= 1 and budget > 0:
        pos, shrunk = 0, False
        while pos < len(data) and budget > 0:
            candidate = data[:pos] + data[pos + chunk:]
            budget -= 1
            if _signature_of(run, candidate)[0] == target:
                data, shrunk = candidate, True
            else:
                pos += chunk
        if not shrunk:
            chunk //= 2
    return data


def _replay_inputs(paths):
    for path in paths:
        files = sorted(glob.glob(os.path.join(path, "*"))) if os.path.isdir(path) else [path]
        for file in files:
            if os.path.isfile(file):
                with open(file, "rb") as handle:
                    yield file, handle.read()


def _report_plain(name, total, found):
    kinds = {}
    for label, sig, message in found:
        kinds.setdefault(sig, []).append((label, message))
    print(f"{name}: {total} inputs, {len(found)} findings, {len(kinds)} distinct")
    for sig, hits in kinds.items():
        print(f"  {sig}: {hits[0][1]!r} ({len(hits)} inputs, first {hits[0][0]})")
    return 1 if found else 0


# ---------------------------------------------------------------- atheris
def _child(args):
    """Inside the fuzzing child: instrument staticvec, then hand control to libFuzzer."""
    import atheris
    import numpy  # noqa: F401  (imported before instrumentation: not worth tracing)

    with atheris.instrument_imports(include=["staticvec"]):
        import staticvec.eval.bias.report  # noqa: F401  (and the other bias modules)
        import staticvec.text.cache  # noqa: F401
        import staticvec.text.encoded  # noqa: F401
        import staticvec.eval.benchmarks  # noqa: F401
        import staticvec.io.fasttext_bin  # noqa: F401
        import staticvec.io.dispatch  # noqa: F401  (and the readers it uses)
        import staticvec.io.stream  # noqa: F401
        import staticvec.model.fasttext  # noqa: F401
        import staticvec.model.subwords  # noqa: F401
        import staticvec.model.vectors  # noqa: F401
        import staticvec.text.vocab  # noqa: F401
    run = fuzz_targets.HARNESSES[args.harness]
    fuzz_targets.use_workdir(os.environ[_TMP_ENV])
    with open(os.environ[_KNOWN_ENV]) as handle:
        known = set(json.load(handle))
    report, count_file = os.environ[_REPORT_ENV], os.environ[_COUNT_ENV]
    count = [0]

    def write_count():
        with open(count_file, "w") as handle:
            handle.write(str(count[0]))

    def one_input(data):
        count[0] += 1
        if count[0] % 1000 == 0:
            write_count()
        try:
            run(data)
        except Exception as exc:
            sig = fuzz_targets.signature(exc)
            if sig in known:
                return
            write_count()
            with open(report, "w") as handle:
                json.dump({"signature": sig, "type": type(exc).__name__,
                           "message": _message(exc)}, handle)
            raise

    limit_address_space(args.as_limit_mb)
    atheris.Setup([sys.argv[0]] + args.libfuzzer, one_input)
    atheris.Fuzz()


def _fuzz(args):
    try:
        import atheris  # noqa: F401
    except ImportError:
        sys.exit("fuzz.py: atheris is not installed (pip install -e '.[fuzz]')")
    name = args.harness
    work = tempfile.mkdtemp(prefix=f"staticvec-fuzz-{name}-")
    corpus = args.corpus or os.path.join(work, "corpus")
    artifacts = args.artifacts or os.path.join(work, "findings")
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    for key, data in fuzz_targets.SEEDS[name]().items():
        with open(os.path.join(corpus, "seed-" + re.sub(r"[^\w.-]", "_", key)), "wb") as handle:
            handle.write(data)
    known_file, report, count_file = (os.path.join(work, n) for n in ("known.json", "report.json",
                                                                      "count"))
    log_path = os.path.join(work, "libfuzzer.log")
    scratch = os.path.join(work, "tmp")
    findings, known, executions = [], [], 0
    deadline = time.monotonic() + args.seconds
    print(f"fuzzing {name} for {args.seconds} s (address space <= {args.as_limit_mb} MB); "
          f"corpus {corpus}, log {log_path}", flush=True)
    with open(log_path, "ab") as log:
        while True:
            remaining = int(deadline - time.monotonic())
            if remaining < 1:
                break
            for path in (report, count_file):
                if os.path.exists(path):
                    os.unlink(path)
            with open(known_file, "w") as handle:
                json.dump(known, handle)
            before = set(os.listdir(artifacts))
            flags = [corpus, f"-max_total_time={remaining}", f"-timeout={args.timeout}",
                     f"-rss_limit_mb={args.rss_limit_mb}", f"-artifact_prefix={artifacts}/",
                     "-print_final_stats=1"]
            if args.max_len:
                flags.append(f"-max_len={args.max_len}")
            env = dict(os.environ, **{_KNOWN_ENV: known_file, _REPORT_ENV: report,
                                      _COUNT_ENV: count_file, _TMP_ENV: scratch})
            cmd = [sys.executable, os.path.abspath(__file__), name, "--child",
                   "--as-limit-mb", str(args.as_limit_mb), "--", *flags]
            start = len(open(log_path, "rb").read()) if os.path.exists(log_path) else 0
            proc = subprocess.run(cmd, stdout=log, stderr=log, env=env)
            log.flush()
            with open(log_path, "rb") as handle:
                handle.seek(start)
                text = handle.read().decode("utf-8", "replace")
            runs = re.findall(r"stat::number_of_executed_units: (\d+)", text)
            if runs:
                executions += int(runs[-1])
            elif os.path.exists(count_file):
                executions += int(open(count_file).read() or 0)
            new = sorted(set(os.listdir(artifacts)) - before)
            if proc.returncode == 0 and not new:
                break  # libFuzzer ran out the clock
            if not new and not os.path.exists(report):
                print(f"fuzz.py: the fuzzing process failed (exit {proc.returncode}); "
                      f"see {log_path}", file=sys.stderr)
                return 2
            if os.path.exists(report):
                with open(report) as handle:
                    finding = json.load(handle)
                known.append(finding["signature"])
            else:
                kind = ("timeout" if any(n.startswith("timeout-") for n in new) else
                        "out of memory" if any(n.startswith("oom-") for n in new) else
                        f"native crash (exit {proc.returncode})")
                tail = [ln for ln in text.splitlines() if "ERROR" in ln or "SUMMARY" in ln][:1]
                finding = {"signature": kind, "type": kind, "message": tail[0] if tail else ""}
            finding["reproducer"] = os.path.join(artifacts, new[0]) if new else None
            findings.append(finding)
            print(f"finding {len(findings)}: {finding['signature']}: {finding['message']!r}\n"
                  f"  reproducer: {finding['reproducer']}", flush=True)
            if finding["type"] in ("timeout", "out of memory") or "native" in finding["type"]:
                if [f["signature"] for f in findings].count(finding["signature"]) > 1:
                    break  # cannot be told apart from the last one: stop rather than loop
    print(f"{name}: {executions:,} executions in {args.seconds} s, {len(findings)} findings"
          + (f" (reproducers in {artifacts})" if findings else ""), flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    if not args.keep and not args.corpus and not findings:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if findings else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("harness", nargs="?", help="harness name (see --list)")
    parser.add_argument("--list", action="store_true", help="name the harnesses")
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time (default 60)")
    parser.add_argument("--max-len", type=int, default=0, help="longest input in bytes "
                        "(libFuzzer -max_len; default: libFuzzer's, from the seeds)")
    parser.add_argument("--rss-limit-mb", type=int, default=2048, help="libFuzzer -rss_limit_mb")
    parser.add_argument("--as-limit-mb", type=int, default=2048,
                        help="address-space limit (RLIMIT_AS) of the fuzzed process; 0: none")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--corpus", help="corpus folder to keep (default: a temporary one)")
    parser.add_argument("--artifacts", help="folder for reproducers of findings (--smoke too)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--smoke", type=int, metavar="N",
                        help="no fuzzer: run the seeds and N deterministic mutations")
    parser.add_argument("--smoke-seed", type=int, default=0)
    parser.add_argument("--replay", nargs="+", metavar="PATH",
                        help="no fuzzer: run these inputs (files or folders of files)")
    parser.add_argument("--minimize", metavar="FILE",
                        help="no fuzzer: shrink the finding FILE, keeping its signature")
    parser.add_argument("--output", "-o", help="where --minimize writes (default FILE.min)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.libfuzzer = argv[cut + 1:]  # the child's libFuzzer flags
    if args.list:
        width = max(map(len, fuzz_targets.HARNESSES))
        for name, text in fuzz_targets.DESCRIPTIONS.items():
            print(f"{name:<{width}}  {text}")
        return 0
    if args.harness not in fuzz_targets.HARNESSES:
        parser.error(f"unknown harness {args.harness!r}; choose from "
                     f"{', '.join(fuzz_targets.HARNESSES)}")
    if args.child:
        return _child(args)
    if args.smoke is not None or args.replay or args.minimize:
        limit_address_space(args.as_limit_mb)
        if args.minimize:
            with open(args.minimize, "rb") as handle:
                data = handle.read()
            small = minimize(args.harness, data)
            out = args.output or args.minimize + ".min"
            with open(out, "wb") as handle:
                handle.write(small)
            sig, message = _signature_of(fuzz_targets.HARNESSES[args.harness], small)
            print(f"{out}: {len(data)} -> {len(small)} bytes; {sig}: {message!r}")
            return 1 if sig else 0
        if args.replay:
            inputs = list(_replay_inputs(args.replay))
            found = run_inputs(args.harness, inputs)
            for label, sig, message in found:
                print(f"{label}: {sig}: {message!r}")
            print(f"{args.harness}: {len(inputs)} inputs replayed, {len(found)} findings")
            return 1 if found else 0
        inputs = list(fuzz_targets.mutations(args.harness, args.smoke, args.smoke_seed))
        found = run_inputs(args.harness, inputs)
        if args.artifacts and found:  # the inputs of the findings, to minimize and keep
            os.makedirs(args.artifacts, exist_ok=True)
            data = dict(inputs)
            for label, _, _ in found:
                with open(os.path.join(args.artifacts, label.replace(":", "-")), "wb") as handle:
                    handle.write(data[label])
        return _report_plain(args.harness, len(inputs), found)
    return _fuzz(args)


if __name__ == "__main__":
    sys.exit(main())
