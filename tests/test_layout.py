"""The layout rules of the package: small modules and classes, no import cycle.

Sizes count code lines only (docstrings, comments and blank lines aside), as
``tools/code_size.py`` does: no module above 350 lines and no class above 300
under ``skloss/`` (the Triton kernel source excepted). Imports count wherever
they are written, inside functions too: a lazy import hides a cycle from the
interpreter, not from a reader.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import code_size  # noqa: E402


def test_no_module_or_class_is_too_large():
    assert code_size.oversized(ROOT / "skloss") == []


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, name):
    """The skloss modules ``path`` imports, anywhere in its source."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # "from package import submodule" imports the submodule too.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] == "skloss" and _is_module(m)}


def _is_module(name):
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph():
    modules = {}
    for path in sorted((ROOT / "skloss").rglob("*.py")):
        name = _module_name(path)
        modules[name] = _imports(path, name) - {name}
    return modules


def _own_package(importer, imported):
    # A package's __init__ re-exports its submodules: that edge is how a package
    # is built, not a dependency between concepts.
    return imported.startswith(importer + ".")


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if _own_package(node, target):
                continue
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_hidden_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"p": {"p.x"}, "p.x": {"q"}, "q": set()}) is None
