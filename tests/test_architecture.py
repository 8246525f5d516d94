"""The layering of trsp_core: data flows one way, and the core never reaches into
the plugin packages.

Every import of one trsp_core room from another (module level or inside a
function; ``TYPE_CHECKING`` blocks excluded) must go to a lower layer.
"""
import ast
from pathlib import Path

import trsp_core

ROOT = Path(trsp_core.__file__).parent

#: rooms from the bottom up; a room may import only rooms listed before it
LAYERS = ["_version", "errors", "validators", "progress", "io", "physics", "resources", "plugin", "run", "backends",
          "observables", "streaming", "model", "spec", "md", "plotting", "measure", "validation", "campaigns",
          "compare", "bench", "cli"]
PLUGIN_PACKAGES = {"plugins", "descriptors", "lattices"}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(tree):
    """(module, line) of every import outside ``if TYPE_CHECKING:`` blocks."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def _edges():
    for f in sorted(ROOT.rglob("*.py")):
        rel = f.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        for target, line in _imports(ast.parse(f.read_text())):
            yield module, target, f"{f.relative_to(ROOT.parent)}:{line}"


def test_every_room_is_in_a_layer():
    rooms = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())) and p.name != "__init__.py"}
    assert rooms <= set(LAYERS), f"rooms without a layer: {sorted(rooms - set(LAYERS))}"


def test_imports_go_down_only():
    bad = []
    for module, target, where in _edges():
        src, dst = _room(module), _room(target)
        if not target.startswith("trsp_core.") or src == dst or src == "__init__":
            continue
        if LAYERS.index(dst) > LAYERS.index(src):
            bad.append(f"{where}: {src} imports higher layer {dst} ({target})")
    assert not bad, "\n".join(bad)


def test_core_never_imports_the_plugin_packages():
    bad = [f"{where}: {target}" for _, target, where in _edges() if target.split(".")[0] in PLUGIN_PACKAGES]
    assert not bad, "\n".join(bad)


def test_no_import_cycles_between_modules():
    """Module-level imports (those that run at import time) form no cycle, within rooms too."""
    modules = {}
    for f in sorted(ROOT.rglob("*.py")):
        rel = f.relative_to(ROOT.parent).with_suffix("")
        modules[".".join(rel.parts).removesuffix(".__init__")] = f
    graph = {m: set() for m in modules}
    for m, f in modules.items():
        tree = ast.parse(f.read_text())
        for node in tree.body:  # top level only: imports inside functions run later
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                targets = subs or ([node.module] if node.module in modules else [])
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name in modules]
            else:
                continue
            graph[m].update(t for t in targets if t != m)
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(" -> ".join(stack[stack.index(n):] + [n]))
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)
