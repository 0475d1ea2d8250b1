"""The house rules that keep staticvec readable, checked on the source itself.

Every import of every module is read with ``ast`` (also the ones inside functions, which a
runtime check would miss): the graph must have no cycle, and dependencies must point down the
layers (core <- text <- model <- io <- eval / train <- cli, with scale above text and below
train). Library modules never write to stdout or stderr: only the CLI decides what a person
sees.
"""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "staticvec"

# what each layer may import (besides itself); the package root is the public API
CORE = {"core", "kernels"}
ALLOWED = {
    "core": CORE,
    "kernels": CORE,
    "text": CORE | {"text"},
    "model": CORE | {"text", "model"},
    "io": CORE | {"text", "model", "io"},
    # scale-out (Dask tasks running text's counters and encoders) sits on text alone
    "scale": CORE | {"text", "scale"},
    "eval": CORE | {"text", "model", "io", "eval"},
    "train": CORE | {"text", "model", "io", "scale", "train"},
    "cli": CORE | {"text", "model", "io", "scale", "eval", "train", "cli", "api"},
    "api": CORE | {"text", "model", "io", "scale", "eval", "train", "api"},
}


def modules():
    """{dotted name: path} of every Python module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    for path in sorted(PACKAGE.rglob("*.pyx")):  # kernels are modules too (imported by name)
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.setdefault(".".join(parts), path)
    return found


def layer(name):
    parts = name.split(".")
    if len(parts) == 1:
        return "api"
    top = parts[1]
    if top == "_kernels":
        return "kernels"
    if top in {"text", "model", "io", "scale", "eval", "train", "cli", "api"}:
        return top
    if top == "__main__":
        return "cli"
    return "core"


def imports_of(name, path, known):
    """Every staticvec module ``name`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def resolve(target):
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "staticvec":
                    found.add(resolve(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "staticvec":
                continue
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                found.add(candidate if candidate in known else resolve(source))
    found.discard(name)
    found.discard("")
    return found


@pytest.fixture(scope="module")
def graph():
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()
            if path.suffix == ".py"}


def test_the_graph_is_read(graph):
    assert "staticvec.cli.main" in graph
    assert any(target.startswith("staticvec.errors") for target in graph["staticvec.atomic"])


def test_no_import_cycle(graph):
    """Tarjan's strongly connected components: any component of two or more modules (or a
    module importing itself) is a cycle."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []


def test_dependencies_point_down_the_layers(graph):
    wrong = sorted(f"{source} ({layer(source)}) imports {target} ({layer(target)})"
                   for source, targets in graph.items() for target in targets
                   if layer(target) not in ALLOWED[layer(source)])
    assert wrong == []


def _writes_to_terminal(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "print":
            yield node.lineno, "print()"
        if isinstance(node, ast.Attribute) and node.attr in {"stdout", "stderr"} and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            yield node.lineno, f"sys.{node.attr}"
        if isinstance(node, ast.Attribute) and node.attr == "warn" and \
                isinstance(node.value, ast.Name) and node.value.id == "warnings":
            yield node.lineno, "warnings.warn"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""]
            if any(n.split(".")[0] in {"rich", "typer", "click"} for n in names):
                yield node.lineno, "a terminal UI library"


# ``-o -``: an output path of "-" is stdout, and the data (never a message) goes there
DATA_TO_STDOUT = {("staticvec.atomic", "sys.stdout")}


def test_library_modules_never_write_to_the_terminal():
    offenders = set()
    for name, path in modules().items():
        if path.suffix != ".py" or layer(name) == "cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders |= {f"{name}:{line}: {what}" for line, what in _writes_to_terminal(tree)
                      if (name, what) not in DATA_TO_STDOUT}
    assert sorted(offenders) == []


def test_the_check_catches_a_cycle_and_a_print(tmp_path):
    """The checks above can fail: a made-up module that prints is caught."""
    tree = ast.parse("import sys\nprint('x')\nsys.stderr.write('y')\n")
    assert [what for _, what in _writes_to_terminal(tree)] == ["print()", "sys.stderr"]
    assert "text" not in ALLOWED["core"] and "cli" not in ALLOWED["train"]
    assert "train" not in ALLOWED["scale"] and "scale" not in ALLOWED["text"]
