"""The package layout: subpackages in data-flow order, imports only going down, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import snakeml

# The subpackages, lowest first, as snakeml/__init__.py lists them.
LAYERS = (
    "core",
    "models",
    "data",
    "validation",
    "training",
    "evaluation",
    "prediction",
    "configuration",
    "experiments",
    "operations",
)
PACKAGE = Path(snakeml.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def snakeml_imports(path: Path) -> set[str]:
    """Every snakeml module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("snakeml.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "snakeml":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists()
                found.add(candidate if is_module else str(node.module))
    return found


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): snakeml_imports(path) for path in PACKAGE.rglob("*.py")}


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 else len(LAYERS)


def test_every_module_sits_in_a_listed_subpackage():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == (
        sorted(LAYERS)
    )
    documented = snakeml.__doc__ or ""
    positions = [documented.index(f"``{name}``") for name in LAYERS]
    assert positions == sorted(positions), "snakeml/__init__.py lists the layers out of order"


def test_imports_only_go_down():
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if target != "snakeml" and layer(target) > layer(module)
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycles.append([*path[path.index(module) :], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []


def test_the_graph_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from snakeml.core import io\n    import snakeml.data.audit\n")
    assert snakeml_imports(source) == {"snakeml.core.io", "snakeml.data.audit"}
