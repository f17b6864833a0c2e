"""Who may import whom (docs/architecture.md): no import cycle crosses packages, the bundle
package stands on leaf modules only, and routers pay for nothing but the runtime."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "compiler"
#: Modules of compiler/ that import nothing of polc but each other: what the bundle package may use.
LEAF_MODULES = {"canonical", "canonical_reference", "diagnostics", "errors", "codes", "fsutil", "version", "paths", "spelling",
                "jsonlog", "clock"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the polc modules it imports (lazy imports inside functions count too)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = name.split(".") if is_package else name.split(".")[:-1]
                if node.level:
                    base = base[: len(base) - (node.level - 1)]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets.add(prefix)
                targets.update(f"{prefix}.{a.name}" for a in node.names)
        resolved = set()
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("compiler") and target != name:
                resolved.add(target)
        graph[name] = resolved
    return graph


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    for root in graph:
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
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    out.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def test_no_import_cycle_crosses_packages():
    crossing = [sorted(c) for c in strongly_connected(import_graph())
                if len({package_of(m) for m in c}) > 1]
    assert crossing == [], f"import cycles across packages: {crossing}"


def test_the_tarjan_helper_finds_a_cycle():
    components = strongly_connected({"compiler.a.x": {"compiler.b.y"}, "compiler.b.y": {"compiler.a.x"},
                                     "compiler.c": set()})
    assert {"compiler.a.x", "compiler.b.y"} in components


def test_the_bundle_package_stands_on_leaf_modules_only():
    graph = import_graph()
    for module, targets in graph.items():
        if package_of(module) != "bundle":
            continue
        outside = {t for t in targets if package_of(t) not in {"bundle", *LEAF_MODULES}}
        assert not outside, f"{module} imports {sorted(outside)}"


def test_a_router_pays_for_the_runtime_and_the_bundle_package_only():
    code = ("import json, sys, compiler.runtime; "
            "heavy = {'lark', 'jsonschema', 'jinja2', 'numpy', 'tomlkit', 'click', 'yaml', 'starlette', 'httpx', "
            "'oras', 'psycopg', 're2'}; "
            "print(json.dumps([sorted(m for m in sys.modules if m.split('.')[0] in heavy), "
            "sorted({m.split('.')[1] for m in sys.modules if m.startswith('compiler.')})]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    heavy, packages = json.loads(done.stdout)
    assert heavy == [], heavy
    assert set(packages) <= {"runtime", "bundle", "capsule", *LEAF_MODULES}, packages
