"""Code lines per module and per class, docstrings, comments and blank lines aside.

Run: python tools/code_size.py [--limit-module 350 --limit-class 300] [paths...]
Prints the modules and classes above the limits (all of them with --all) and exits 1
when any is above; ``tests/test_layout.py`` applies the same count to ``skloss/``.
"""

import argparse
import ast
import io
import sys
import tokenize
from pathlib import Path

#: Generated or kernel source that the size rule does not cover.
EXEMPT = ("skloss/fused/_triton.py",)


def _docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source):
    """The set of line numbers holding code (not docstrings, comments or blanks)."""
    tree = ast.parse(source)
    docs = _docstring_lines(tree)
    code = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        for line in range(token.start[0], token.end[0] + 1):
            if line not in docs:
                code.add(line)
    return code


def sizes(path):
    """``(module_lines, {class_name: lines})`` of one file."""
    source = Path(path).read_text()
    code = code_lines(source)
    classes = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            span = range(node.lineno, node.end_lineno + 1)
            classes[node.name] = sum(1 for line in span if line in code)
    return len(code), classes


def oversized(root="skloss", limit_module=350, limit_class=300):
    """``[(what, lines)]`` above the limits under ``root``."""
    found = []
    for path in sorted(Path(root).rglob("*.py")):
        if path.as_posix().endswith(EXEMPT):
            continue
        module, classes = sizes(path)
        if module > limit_module:
            found.append((path.as_posix(), module))
        found += [(f"{path.as_posix()}::{c}", n) for c, n in classes.items() if n > limit_class]
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="skloss")
    parser.add_argument("--limit-module", type=int, default=350)
    parser.add_argument("--limit-class", type=int, default=300)
    parser.add_argument("--all", action="store_true", help="print every module and class")
    args = parser.parse_args()
    if args.all:
        for path in sorted(Path(args.root).rglob("*.py")):
            module, classes = sizes(path)
            print(f"{module:5d}  {path.as_posix()}")
            for name, n in sorted(classes.items(), key=lambda kv: -kv[1])[:3]:
                print(f"{n:5d}    class {name}")
    found = oversized(args.root, args.limit_module, args.limit_class)
    for what, n in found:
        print(f"over the limit: {what} {n}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
