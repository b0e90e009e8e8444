"""The layering of the code: no import cycle anywhere (imports inside functions count), and the
dependencies point one way (modeling <- export <- evaluation <- engine; eval_tools is numpy-only;
the deploy package imports none of our packages; nothing installed imports the benchmarks); no file
outside the tests edits ``sys.path`` or loads a module by file path."""
import ast
import pathlib
import subprocess
import sys

import pytest

from helpers import REPO

#: import name -> source folder (the deploy package installs from deploy/python, see setup.py).
PACKAGES = {"ppdet_face": "ppdet_face", "eval_tools": "eval_tools", "ppdet_face_deploy": "deploy/python",
            "benchmarks": "benchmarks"}


def _module_name(pkg, path):
    rel = path.relative_to(REPO / PACKAGES[pkg]).with_suffix("")
    parts = [pkg, *rel.parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    mods = {}
    for pkg, folder in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            mods[_module_name(pkg, path)] = path
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
    ("eval_tools", ("ppdet_face", "ppdet_face_deploy", "benchmarks")),
    ("ppdet_face_deploy", ("ppdet_face", "eval_tools", "benchmarks")),
    ("ppdet_face", ("benchmarks",)),
])
def test_dependencies_point_one_way(layer, forbidden):
    bad = sorted(d for d in _imports_of(_graph(), layer) if any(d == f or d.startswith(f + ".") for f in forbidden))
    assert not bad, f"{layer} imports {bad}"


def test_eval_tools_and_deploy_import_no_paddle_detection():
    for pkg, banned in (("eval_tools", ("paddle", "ppdet")), ("deploy/python", ("ppdet",))):
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


def _python_files_outside_tests():
    skip = {"tests", ".venv", "build", "output", "dataset", ".git"}
    return [p for p in REPO.rglob("*.py") if not skip & set(p.relative_to(REPO).parts)]


def test_no_sys_path_edits_or_file_path_imports_outside_tests():
    bad = []
    for path in _python_files_outside_tests():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "spec_from_file_location":
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}: loads a module by file path")
            if isinstance(node, ast.Attribute) and node.attr in ("insert", "append") \
                    and ast.unparse(node.value) == "sys.path":
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}: edits sys.path")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad += [f"{path.relative_to(REPO)}:{node.lineno}: imports {n} (use ppdet_face_deploy)"
                        for n in names if n == "deploy" or n.startswith("deploy.")]
    assert not bad, "\n".join(bad)


def test_light_imports_need_neither_paddle_nor_ppdet():
    """``import ppdet_face`` / the synthetic generator / the deploy package stay cheap (no paddle, no ppdet)."""
    code = ("import sys, ppdet_face, ppdet_face.data.synthetic, ppdet_face_deploy.infer; "
            "print(sorted(m for m in ('paddle', 'ppdet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
