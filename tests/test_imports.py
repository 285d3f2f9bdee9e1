"""The package's imports hold its layering (issue 21 items 1, 2 and 7): walking every import
of every module of src/stikprove with :mod:`ast`, there is no circle, no ``_private`` name
taken from another module and no step importing a higher one (the layer table in
docs/CONTRACTS.md, read by this test: it is the one statement of the order).

What counts as an import (each rule is checked on small made-up packages below, so that
every check can fail):

- every ``import``/``from ... import`` statement of a module, at its top, in a class body, in
  a function body (an import inside a function is a dependency all the same: putting it there
  is the usual way to hide a circle from the interpreter) and under ``if TYPE_CHECKING:``;
  relative imports are resolved against the importing module's package;
- ``from package import name`` is an import of ``package.name`` when that is a module (so
  ``from stikprove import _version`` imports the module ``_version``, not a private name:
  a module whose file name starts with an underscore is private to the package, not to a
  module of it); otherwise, when the package re-exports ``name`` lazily (its ``_EXPORTS``
  table, read by :func:`stikprove.lazy.lazy_exports`), an import of the module the table
  names: the lazy exports would otherwise hide which step is imported (a package that
  writes its own ``__getattr__``, as stikprove.release does, is walked like any function);
- a package's ``_EXPORTS`` table is itself a (deferred) import of each module it names, and
  so is each ``provide(role, "module:attribute")`` (:func:`stikprove.lazy.provide`, the
  package root's way of letting a lower step offer what a higher step computes) and each
  ``importlib.import_module("stikprove....")`` of a constant name.

The three checks:

- **circles** among the imports that run (at the top of a module or when a function runs);
  an import under ``TYPE_CHECKING`` never runs, so it makes no circle;
- **private names**: ``from module import _name`` and ``module._name`` (with ``module`` bound
  by an import) across two modules of the package; dunder names (``__version__``) are public;
- **layering**: no module imports one of a higher step, whether at the top, in a function,
  lazily or under ``TYPE_CHECKING`` (a type-only upward import does not run, but it still
  makes the lower step's interface name the higher step, which the order forbids).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "stikprove"
CONTRACTS = ROOT / "docs" / "CONTRACTS.md"


# -- reading the imports ----------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One import of a module of the package by another module of the package."""

    importer: str  # dotted name of the importing module
    target: str  # dotted name of the imported module (after resolving lazy exports)
    name: str | None  # the name taken from ``target`` (None: the module itself)
    line: int
    deferred: bool = False  # runs later: in a function body, or a lazy export
    type_only: bool = False  # under ``if TYPE_CHECKING:``

    def where(self) -> str:
        how = ", type-only" if self.type_only else ", deferred" if self.deferred else ""
        name = f" ({self.name})" if self.name else ""
        return f"{self.importer} -> {self.target}{name} (line {self.line}{how})"


def module_name(path: str) -> tuple[str, bool]:
    """``"stikprove/store/study.py"`` -> ``("stikprove.store.study", False)``; a package's
    ``__init__.py`` names the package (True)."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def package_files(src: Path = SRC, package: str = PACKAGE) -> dict[str, str]:
    """Every module of the package: path relative to ``src`` -> source text."""
    return {
        path.relative_to(src).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((src / package).rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.AST) -> list[tuple[ast.AST, bool, bool]]:
    """Each node of ``tree`` with (in a function body, under TYPE_CHECKING), depth first."""
    found = []
    stack: list[tuple[ast.AST, bool, bool]] = [(tree, False, False)]
    while stack:
        node, deferred, type_only = stack.pop()
        found.append((node, deferred, type_only))
        inner = deferred or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        guarded = (
            {id(child) for child in node.body}
            if isinstance(node, ast.If) and _is_type_checking(node.test)
            else set()
        )
        stack.extend(
            (child, inner, type_only or id(child) in guarded)
            for child in reversed(list(ast.iter_child_nodes(node)))
        )
    return found[1:]


def _lazy_exports(tree: ast.Module) -> dict[str, str]:
    """A module's ``_EXPORTS`` table (public name -> defining module), if it has one."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if not any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in targets):
            continue
        value = getattr(node, "value", None)
        if isinstance(value, ast.Dict):
            return {
                k.value: v.value
                for k, v in zip(value.keys, value.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            }
    return {}


def scan(files: Mapping[str, str]) -> list[Import]:
    """Every import between the modules of ``files`` (path -> source, as from
    :func:`package_files`); imports of anything else (the standard library, pandas) are
    left out. Private names reached as ``module._name`` are listed as imports of that name."""
    modules: dict[str, tuple[ast.Module, bool]] = {}
    for path, source in files.items():
        name, is_package = module_name(path)
        modules[name] = (ast.parse(source, filename=path), is_package)
    exports = {name: _lazy_exports(tree) for name, (tree, _) in modules.items()}
    found: list[Import] = []
    for importer, (tree, is_package) in modules.items():
        package = importer if is_package else importer.rpartition(".")[0]
        aliases: dict[str, str] = {}  # local name bound to a module of the package
        for public, module in exports[importer].items():
            if module in modules:
                found.append(Import(importer, module, public, 1, deferred=True))
        nodes = _statements(tree)
        for node, deferred, type_only in nodes:
            here = {"line": getattr(node, "lineno", 0), "deferred": deferred,
                    "type_only": type_only}  # fmt: skip
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        found.append(Import(importer, alias.name, None, **here))
                        local = alias.asname or alias.name.partition(".")[0]
                        aliases[local] = alias.name if alias.asname else local
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                if source not in modules:
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in modules:
                        found.append(Import(importer, submodule, None, **here))
                        aliases[alias.asname or alias.name] = submodule
                    elif alias.name in exports[source]:
                        target = exports[source][alias.name]
                        found.append(Import(importer, target, alias.name, **here))
                    else:
                        found.append(Import(importer, source, alias.name, **here))
            elif isinstance(node, ast.Call):
                found.extend(_string_imports(importer, node, modules, here))
        attributes = [node for node, _, _ in nodes if isinstance(node, ast.Attribute)]
        found.extend(_private_attributes(importer, attributes, aliases, modules))
    return found


def _string_imports(importer, call: ast.Call, modules, here) -> list[Import]:
    """``provide(role, "module:attribute")`` and ``import_module("module")`` with constant
    names: imports the AST would not otherwise see."""
    func = call.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    strings = [a.value for a in call.args if isinstance(a, ast.Constant)]
    if called == "provide" and len(strings) == 2 and isinstance(strings[1], str):
        module, _, attribute = strings[1].partition(":")
        name = attribute.partition(".")[0] or None
    elif called == "import_module" and strings and isinstance(strings[0], str):
        module, name = strings[0], None
    else:
        return []
    if module not in modules:
        return []
    return [Import(importer, module, name, here["line"], deferred=True,
                   type_only=here["type_only"])]  # fmt: skip


def _private_attributes(importer, attributes, aliases, modules) -> list[Import]:
    """``module._name`` where ``module`` is a local name bound to a module of the package
    (``attributes``: the module's ast.Attribute nodes)."""
    found = []
    for node in attributes:
        chain = []
        value: ast.expr = node
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if not isinstance(value, ast.Name) or value.id not in aliases:
            continue
        dotted = [aliases[value.id], *reversed(chain)]
        # the longest module prefix, then the name taken from it
        for cut in range(len(dotted), 0, -1):
            if ".".join(dotted[:cut]) in modules:
                break
        if cut == len(dotted) or cut != len(dotted) - 1:
            continue  # the chain is a module, or an attribute of an attribute
        module, name = ".".join(dotted[:cut]), dotted[cut]
        if module != importer:
            found.append(Import(importer, module, name, node.lineno))
    return found


# -- the three checks -------------------------------------------------------------------------


def cycles(imports: Iterable[Import]) -> list[list[str]]:
    """The import circles among the imports that run (not type-only), each as a path
    ``[a, b, ..., a]``; one circle per strongly connected group of modules, starting at its
    first module in sorted order."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.type_only and imp.importer != imp.target:
            graph.setdefault(imp.importer, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    found = []
    for group in _strongly_connected(graph):
        if len(group) > 1:
            start = min(group)
            found.append(_path_back(graph, start, group))
    return sorted(found)


def _strongly_connected(graph: Mapping[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative; the graph is small but deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def _path_back(graph: Mapping[str, set[str]], start: str, group: set[str]) -> list[str]:
    """The shortest path from ``start`` back to itself inside ``group`` (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & group):
                if child == start:
                    path = [start]
                    while node != start:
                        path.append(node)
                        node = previous[node]
                    return [start, *reversed(path[1:]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is not on a circle of {sorted(group)}")


def _is_private(name: str | None) -> bool:
    return bool(name) and name.startswith("_") and not name.startswith("__")


def private_imports(imports: Iterable[Import]) -> list[Import]:
    """The imports that take a ``_private`` name from another module (a private module, such
    as ``_version``, is imported as a module and has no name here)."""
    return [i for i in imports if _is_private(i.name) and i.importer != i.target]


def parse_layers(markdown: str) -> list[tuple[str, tuple[str, ...]]]:
    """The layer table of docs/CONTRACTS.md: (step, modules) per row, lowest step first.

    The table is the one whose header starts ``| Step | Modules``; each row names a step and,
    in its second column, the step's modules in backticks, relative to the package
    (``store`` is stikprove.store and every module under it; ``__init__`` is the package
    root)."""
    lines = markdown.splitlines()
    header = next(
        (i for i, line in enumerate(lines) if re.match(r"\|\s*Step\s*\|\s*Modules", line)), None
    )
    if header is None:
        raise ValueError("no layer table (a header row '| Step | Modules ...') in the text")
    rows = []
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        rows.append((cells[0], tuple(re.findall(r"`([^`]+)`", cells[1]))))
    return rows


def layer_index(
    layers: list[tuple[str, tuple[str, ...]]], package: str = PACKAGE
) -> dict[str, int]:
    """Dotted module prefix -> its step's position (0 lowest)."""
    index = {}
    for position, (_, names) in enumerate(layers):
        for name in names:
            dotted = package if name == "__init__" else f"{package}.{name}"
            if dotted in index:
                raise ValueError(f"{name!r} is in two rows of the layer table")
            index[dotted] = position
    return index


def layer_of(module: str, index: Mapping[str, int], package: str = PACKAGE) -> int | None:
    """The step of ``module``: its own entry or its nearest package's (the package root's
    entry covers only the root itself); None when the table does not name it."""
    parts = module.split(".")
    for cut in range(len(parts), 1, -1):
        prefix = ".".join(parts[:cut])
        if prefix in index:
            return index[prefix]
    return index.get(module) if module == package else None


def upward_imports(imports: Iterable[Import], index: Mapping[str, int]) -> list[Import]:
    """The imports of a module of a higher step than the importer's (any kind of import)."""
    return [
        i
        for i in imports
        if (low := layer_of(i.importer, index)) is not None
        and (high := layer_of(i.target, index)) is not None
        and high > low
    ]


# -- the package ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return scan(package_files())


@pytest.fixture(scope="module")
def layers() -> list[tuple[str, tuple[str, ...]]]:
    return parse_layers(CONTRACTS.read_text(encoding="utf-8"))


def test_no_import_circle(imports):
    """No circle among the package's modules, counting imports inside functions."""
    found = cycles(imports)
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_no_private_name_across_modules(imports):
    """No module takes a ``_name`` from another module of the package: what another module
    needs is a documented public function or type of the module that owns it."""
    found = private_imports(imports)
    assert not found, "private names across modules:\n" + "\n".join(i.where() for i in found)


def test_every_module_has_a_step(layers):
    """Every module of the package is in the layer table, and every name there is a module."""
    index = layer_index(layers)
    modules = {module_name(path)[0] for path in package_files()}
    missing = sorted(m for m in modules if layer_of(m, index) is None)
    assert not missing, f"not in the layer table of docs/CONTRACTS.md: {missing}"
    unknown = sorted(prefix for prefix in index if prefix not in modules)
    assert not unknown, f"the layer table names what is not a module: {unknown}"


def test_no_lower_step_imports_a_higher_one(imports, layers):
    """No import, in a function, lazy or type-only included, reaches a higher step."""
    index = layer_index(layers)
    steps = [step for step, _ in layers]
    found = [
        f"{i.where()}: {steps[layer_of(i.importer, index)]} imports "
        f"{steps[layer_of(i.target, index)]}"
        for i in upward_imports(imports, index)
    ]
    assert not found, "upward imports:\n" + "\n".join(found)


def test_layer_table_order(layers):
    """The table reads in the order of the flow the package's docstring draws (frame →
    protocol → ... → reports), between the base and the command line."""
    docstring = ast.get_docstring(ast.parse((SRC / PACKAGE / "__init__.py").read_text("utf-8")))
    line = next(line for line in docstring.splitlines() if " → " in line)
    flow = [step.strip() for step in line.split("→")]
    steps = [step for step, _ in layers]
    assert len(flow) >= 5 and set(flow) <= set(steps)
    assert [s for s in steps if s in flow] == flow
    assert steps[0] == "base" and steps[-1] == "command line"


# -- the checks themselves, on made-up packages -----------------------------------------------


def _graph(modules: Mapping[str, str]) -> list[Import]:
    """Imports of a made-up package ``pkg``: path under pkg/ -> source."""
    return scan({"pkg/__init__.py": "", **{f"pkg/{path}": text for path, text in modules.items()}})


def test_cycle_is_found_with_its_path():
    """a -> b -> c -> a is reported as that path; an import in a function counts."""
    imports = _graph({
        "a.py": "from pkg import b\n",
        "b.py": "import pkg.c\n",
        "c.py": "def f():\n    from pkg.a import x\n",
    })  # fmt: skip
    assert cycles(imports) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_type_only_import_makes_no_cycle():
    """An import under TYPE_CHECKING never runs: no circle; a chain without a loop: none."""
    guarded = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import A\n"
    assert cycles(_graph({"a.py": "from pkg import b\n", "b.py": guarded})) == []
    chain = {"a.py": "from pkg import b\n", "b.py": "from pkg import c\n", "c.py": ""}
    assert cycles(_graph(chain)) == []


def test_relative_imports_are_resolved():
    """``from . import n`` and ``from ..top import thing`` name the right modules."""
    imports = _graph({
        "sub/__init__.py": "",
        "sub/m.py": "from . import n\nfrom ..top import thing\n",
        "sub/n.py": "",
        "top.py": "",
    })  # fmt: skip
    assert {(i.importer, i.target, i.name) for i in imports} == {
        ("pkg.sub.m", "pkg.sub.n", None),
        ("pkg.sub.m", "pkg.top", "thing"),
    }


def test_private_import_is_found():
    """``from m import _x`` and ``m._x`` are private; a private module and dunders are not."""
    imports = _graph({
        "_version.py": "__version__ = '1'\n",
        "m.py": "_x = 1\n",
        "a.py": "from pkg.m import _x\nfrom pkg import _version\n"
                "from pkg._version import __version__\n",
        "b.py": "from pkg import m\n\n\ndef f():\n    return m._x + m.public\n",
    })  # fmt: skip
    found = {(i.importer, i.target, i.name) for i in private_imports(imports)}
    assert found == {("pkg.a", "pkg.m", "_x"), ("pkg.b", "pkg.m", "_x")}


def test_lazy_exports_are_seen_through():
    """A lazily exported name is an import of the module that defines it, and the export
    table itself imports that module."""
    imports = _graph({
        "__init__.py": "_EXPORTS = {'Thing': 'pkg.high'}\n",
        "high.py": "",
        "low.py": "from pkg import Thing\n",
    })  # fmt: skip
    found = {(i.importer, i.target, i.name) for i in imports}
    assert found == {("pkg.low", "pkg.high", "Thing"), ("pkg", "pkg.high", "Thing")}


def test_provided_role_and_import_module_are_seen():
    """``provide(role, "module:attr")`` and ``import_module("module")`` are imports."""
    imports = _graph({
        "low.py": "import importlib\n\n\ndef f():\n"
                  "    return importlib.import_module('pkg.high')\n",
        "root.py": "provide('x.y', 'pkg.high:Thing.method')\n",
        "high.py": "",
    })  # fmt: skip
    found = {(i.importer, i.target, i.name, i.deferred) for i in imports}
    assert found == {("pkg.low", "pkg.high", None, True), ("pkg.root", "pkg.high", "Thing", True)}


LAYERS_TEXT = """
| Step | Modules | Notes |
|------|---------|-------|
| base | `errors`, `_version` | |
| store | `store` | the package and below |
| top | `__init__`, `cli` | |

after the table
"""


def test_upward_import_is_found():
    """A lower step importing a higher one is found in a function and under TYPE_CHECKING;
    the other direction is not."""
    index = layer_index(parse_layers(LAYERS_TEXT), package="pkg")
    imports = _graph({
        "errors.py": "from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from pkg.store import S\n",
        "store/__init__.py": "from pkg import errors\n",
        "store/study.py": "def f():\n    from pkg import cli\n",
        "cli.py": "from pkg.store import study\n",
    })  # fmt: skip
    found = {(i.importer, i.target, i.type_only) for i in upward_imports(imports, index)}
    assert found == {("pkg.errors", "pkg.store", True), ("pkg.store.study", "pkg.cli", False)}


def test_layer_table_is_parsed():
    """Rows in order with their backticked modules; the root's entry covers only itself."""
    layers = parse_layers(LAYERS_TEXT)
    assert layers == [("base", ("errors", "_version")), ("store", ("store",)),
                      ("top", ("__init__", "cli"))]  # fmt: skip
    index = layer_index(layers, package="pkg")
    assert layer_of("pkg.store.rounds", index, "pkg") == 1 and layer_of("pkg", index, "pkg") == 2
    assert layer_of("pkg.unlisted", index, "pkg") is None
    with pytest.raises(ValueError, match="no layer table"):
        parse_layers("| Name | Value |\n|--|--|\n")
    with pytest.raises(ValueError, match="two rows"):
        layer_index([("a", ("x",)), ("b", ("x",))])
