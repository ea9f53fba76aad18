"""The library's shape: its modules import each other without a cycle (lazy imports inside functions count)."""
import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "takdlib"


def internal_imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the package's modules it imports}, from the source: every import statement, those under `if
    TYPE_CHECKING:` and inside functions included. Importing a submodule imports its packages first, so
    `from .methods.kd import x` depends on takdlib.methods too; a package's __init__ is the package's name."""
    root = package.name
    graph = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        here = parts[:-1]  # the package a module (or a package's __init__) sits in
        name = ".".join(here if path.name == "__init__.py" else parts)
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here[:len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
                deps.add(".".join(base))
                if not node.module:  # from . import x: the submodule x
                    deps |= {".".join(base + [a.name]) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == root:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == root}
        ancestors = {".".join(here[:i]) for i in range(1, len(here) + 1)}  # already importing when this runs
        with_parents = {".".join(d.split(".")[:i]) for d in deps for i in range(2, d.count(".") + 2)}
        graph[name] = with_parents - ancestors - {name}
    known = set(graph)
    return {m: {d for d in deps if d in known} for m, deps in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """The modules that reach themselves through their imports."""
    def reachable(start):
        seen, todo = set(), list(graph.get(start, ()))
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += graph.get(node, ())
        return seen

    return sorted(m for m in graph if m in reachable(m))


def test_the_import_graph_has_no_cycle():
    graph = internal_imports()
    assert "takdlib.store" in graph and "takdlib.claims" in graph and "takdlib.methods" in graph
    assert "takdlib.recipes" in graph["takdlib.methods.kd"]  # a method reads the recipes, never the reverse
    assert cycles(graph) == []


def test_a_planted_cycle_is_found_through_a_package_init_and_a_type_checking_import(tmp_path):
    pkg = tmp_path / "lib"
    (pkg / "methods").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "recipes.py").write_text("from .methods import get_method\n")
    (pkg / "methods" / "__init__.py").write_text("from .kd import KD\n")
    (pkg / "methods" / "kd.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                           "    from ..recipes import Recipe\n")
    graph = internal_imports(pkg)
    assert graph["lib.methods"] == {"lib.methods.kd"} and "lib.recipes" in graph["lib.methods.kd"]
    assert cycles(graph) == ["lib.methods", "lib.methods.kd", "lib.recipes"]
    (pkg / "methods" / "kd.py").write_text("import lib.recipes\n")  # an absolute import closes it too
    assert cycles(internal_imports(pkg)) == ["lib.methods", "lib.methods.kd", "lib.recipes"]
    (pkg / "methods" / "kd.py").write_text("KD = None\n")
    assert cycles(internal_imports(pkg)) == []


def test_recipes_know_no_method():
    """Methods own their settings: recipes.py imports no method and reads no method's setting."""
    graph = internal_imports()
    assert not [d for d in graph["takdlib.recipes"] if d.startswith("takdlib.methods")]
    source = (PACKAGE / "recipes.py").read_text()
    read = re.findall(r"\.(tau|lam|kl|drop|keep_prob|drop_num|layers|weight)\b", source)
    assert not read and "method_weight" not in source


def test_the_book_and_the_locations_import_no_torch():
    for module in ("book.py", "locations.py"):
        tree = ast.parse((PACKAGE / module).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not [m for m in imported if m.split(".")[0] == "torch"], module


def test_building_the_book_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, takdlib.book, takdlib.locations; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_recipes_know_no_profile_by_name():
    """The builders take a Profile object: recipes never reach the table of profiles (takdlib.profiles)."""
    graph = internal_imports()
    assert "takdlib.profiles" not in graph["takdlib.recipes"] and "takdlib.recipes" in graph["takdlib.profiles"]
    assert "get_profile" not in (PACKAGE / "recipes.py").read_text()
