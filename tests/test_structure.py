"""The library's shape: its modules import each other without a cycle (lazy imports inside functions count)."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "takdlib"


def internal_imports() -> dict[str, set[str]]:
    """{module: the takdlib modules it imports}, from the source, every import statement included."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts if path.name == "__init__.py" else parts[:-1]
        name = ".".join(parts[:-1] if path.name == "__init__.py" else parts)
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                deps.add(".".join(base + ([node.module] if node.module else [])))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("takdlib"):
                deps.add(node.module)
        graph[name] = {d for d in deps if d != name}
    return graph


def test_the_import_graph_has_no_cycle():
    graph = internal_imports()
    assert "takdlib.store" in graph and "takdlib.claims" in graph

    def reachable(start):
        seen, todo = set(), list(graph.get(start, ()))
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += graph.get(node, ())
        return seen

    assert not [m for m in graph if m in reachable(m)]


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
