"""No import circle anywhere in the package (issue 19 item 3), and the evaluation package's front door is light.

The graph has an edge from a module to each module of the package it imports, at module level or inside a
function (an import inside a function only postpones the circle); imports under ``if TYPE_CHECKING:`` never
run and are left out.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sdcomp_lite"


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those inside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module name -> the package's modules it imports (a name imported from a package counts as its submodule
    when one has that name, else as the package itself)."""
    modules = {_module_name(path, package): path for path in package.rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        base_package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {known(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = base_package.split(".")[: len(base_package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else known(base)
                            for alias in node.names}
        graph[name] = {target for target in targets if target and target != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert "sdcomp_lite.evaluation.results" in graph and len(graph) > 50
    assert circles(graph) == []


def test_the_circle_finder_finds_circles(tmp_path):
    """It can fail: a module-level and a function-level circle in a package written here are both found,
    an import under TYPE_CHECKING is not an edge."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import x\n")
    (package / "b.py").write_text("def f():\n    from pkg import a\nx = 1\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import y\nz = 1\n")
    (package / "d.py").write_text("from .c import z\ny = 2\n")
    graph = import_graph(package)
    assert graph["pkg.b"] == {"pkg.a"} and graph["pkg.d"] == {"pkg.c"} and graph["pkg.c"] == set()
    assert circles(graph) == [["pkg.a", "pkg.b"]]


def test_importing_the_evaluation_package_loads_no_heavy_library():
    heavy = ("torch", "dask", "distributed", "matplotlib", "compressai", "mediapipe", "cv2")
    code = ("import sdcomp_lite.evaluation as e, sdcomp_lite.evaluation.results, sdcomp_lite.evaluation.store, "
            "sdcomp_lite.evaluation.report, sdcomp_lite.evaluation.rates, sdcomp_lite.evaluation.sweep\n"
            f"import json, sys\nprint(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_evaluation_entry_points_are_the_real_ones():
    import sdcomp_lite.evaluation as evaluation
    from sdcomp_lite.evaluation import figures, report, results, store, sweep

    assert evaluation.run_sweep is sweep.run_sweep and evaluation.write_report is report.write_report
    assert evaluation.load_results is store.load_results is report.load_results
    assert evaluation.rd_figure is figures.rd_figure is report.rd_figure
    assert evaluation.WorkUnit is results.WorkUnit is sweep.WorkUnit and evaluation.OURS == "sdcomp-lite"
    assert set(evaluation.__all__) == set(evaluation._HOMES) <= set(dir(evaluation))
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None
