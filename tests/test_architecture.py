"""The layering of the code: no import cycle anywhere (imports inside functions count), and the
dependencies point one way (modeling <- export <- evaluation <- engine; eval_tools is numpy-only;
deploy imports none of our packages)."""
import ast
import pathlib

import pytest

from helpers import REPO

PACKAGES = ("ppdet_face", "eval_tools", "deploy")


def _module_name(path):
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    mods = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            mods[_module_name(path)] = path
    return mods


def _resolve(mod, path, node, known):
    """Our modules that an import node refers to (relative imports resolved)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        if node.level:
            base = base[:len(base) - node.level + 1]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        names = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
    out = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != mod:
            out.add(name)
    return out


def _graph():
    mods = _modules()
    graph = {}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _resolve(mod, path, node, mods)
        graph[mod] = edges
    return graph


def _imports_of(graph, prefix):
    return {dst for src, dsts in graph.items() if src == prefix or src.startswith(prefix + ".") for dst in dsts}


def _find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    assert _find_cycle(_graph()) is None, " -> ".join(_find_cycle(_graph()))


@pytest.mark.parametrize("layer,forbidden", [
    ("ppdet_face.modeling", ("ppdet_face.export", "ppdet_face.evaluation", "ppdet_face.engine")),
    ("ppdet_face.export", ("ppdet_face.evaluation", "ppdet_face.engine")),
    ("ppdet_face.evaluation", ("ppdet_face.engine",)),
    ("eval_tools", ("ppdet_face",)),
    ("deploy", ("ppdet_face", "eval_tools")),
])
def test_dependencies_point_one_way(layer, forbidden):
    bad = sorted(d for d in _imports_of(_graph(), layer) if d.startswith(forbidden))
    assert not bad, f"{layer} imports {bad}"


def test_eval_tools_and_deploy_import_no_paddle_detection():
    for pkg, banned in (("eval_tools", ("paddle", "ppdet")), ("deploy", ("ppdet",))):
        for path in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
                assert not [n for n in names if n.split(".")[0] in banned], f"{path}: imports {names}"


def test_the_checks_see_cycles_and_function_level_imports(tmp_path):
    assert _find_cycle({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}}) == ["a.x", "a.y", "a.z", "a.x"]
    assert _find_cycle({"a": {"a.x"}, "a.x": {"a"}}) is None  # a package importing its own submodule
    mods = {"p.m": None, "p.n": None}
    node = ast.parse("def f():\n    from .n import g\n").body[0].body[0]
    assert _resolve("p.m", pathlib.Path("p/m.py"), node, mods) == {"p.n"}
