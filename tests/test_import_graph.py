"""The architecture's arrows, checked on the source (ast, every import in a module, function-local ones too).

- ``llm/`` knows no database: it imports neither ``db``, ``versions``, ``campaigns`` nor SQLAlchemy.
- Library modules never import the faces (``api``, ``cli``) nor ``workers``; ``KNOWN_FACE_IMPORTS`` names
  today's exceptions so later work removes them (the test fails when one is fixed and not struck off).
- The engine generates with neither SQLAlchemy nor pydantic-settings importable.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "marketing_gen"
FACES = ("marketing_gen.api", "marketing_gen.cli", "marketing_gen.__main__", "marketing_gen.devtools", "workers")
"""The faces (and ``devtools``: demo store, benches, SMTP sink), which may import the library but not the reverse."""
LLM_FORBIDDEN = ("marketing_gen.db", "marketing_gen.versions", "marketing_gen.campaigns", "marketing_gen.registry",
                 "sqlalchemy", "alembic")  # fmt: skip
KNOWN_FACE_IMPORTS: dict[str, set[str]] = {}
"""Library modules that import a face today: remove an entry when its import goes."""


def _module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """Every module ``path`` (under ``root``) imports: absolute names; ``from a import b`` gives ``a`` and ``a.b``."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _hits(names: set[str], prefixes: tuple[str, ...]) -> set[str]:
    return {p for p in prefixes for n in names if n == p or n.startswith(p + ".")}


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_the_import_scanner_sees_local_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "marketing_gen" / "llm"
    pkg.mkdir(parents=True)
    mod = pkg / "x.py"
    mod.write_text("def f():\n    from ..db import session_scope\n    import sqlalchemy.orm\n")
    assert _hits(imports_of(mod, tmp_path), LLM_FORBIDDEN) == {"marketing_gen.db", "sqlalchemy"}


def test_llm_imports_no_database() -> None:
    offenders = {
        name: sorted(_hits(imports_of(path), LLM_FORBIDDEN))
        for name, path in _modules().items()
        if name == "marketing_gen.llm" or name.startswith("marketing_gen.llm.")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_library_modules_do_not_import_faces() -> None:
    found = {}
    for name, path in _modules().items():
        if _hits({name}, FACES):
            continue
        hits = _hits(imports_of(path), FACES)
        if hits:
            found[name] = hits
    assert found == KNOWN_FACE_IMPORTS


def test_engine_generates_without_sqlalchemy_or_pydantic_settings(tiny_model_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["sqlalchemy"] = None  # any import of them raises ImportError
        sys.modules["pydantic_settings"] = None
        from marketing_gen.llm.engine import Engine
        from marketing_gen.llm.sampling import SamplingParams
        engine = Engine.from_path({str(tiny_model_dir)!r}, device="cpu", dtype="fp32")
        out = engine.generate(["hello"], SamplingParams(max_new_tokens=3, temperature=0.8, top_p=0.9, seed=1))
        assert len(out) == 1 and out[0].tokens[0] <= 3
        assert "marketing_gen.config" not in sys.modules
        print("generated")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "generated" in proc.stdout


def test_every_imported_project_module_exists() -> None:
    """Function-local imports fail only when run: every ``marketing_gen.*`` / ``workers.*`` name imported anywhere
    must be a module, or a name defined in one (catches imports of moved modules, e.g. the old registry)."""
    missing: dict[str, set[str]] = {}
    for name, path in _modules().items():
        for imported in imports_of(path):
            if not imported.startswith(("marketing_gen.", "workers.")):
                continue
            parent, _, attr = imported.rpartition(".")
            if _spec(imported) is not None:
                continue
            spec = _spec(parent)
            if spec is None or spec.origin is None or not _defines(Path(spec.origin), attr):
                missing.setdefault(name, set()).add(imported)
    assert missing == {}


def _spec(name: str) -> Any:
    import importlib.util

    try:
        return importlib.util.find_spec(name)
    except (ModuleNotFoundError, AttributeError, ValueError):  # a name inside a module, not a module
        return None


def _defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, ast.ImportFrom | ast.Import) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def test_no_caller_of_the_removed_engine_loader() -> None:
    """``Engine.from_settings`` moved to ``versions.active.load_active_engine`` (the engine knows no database)."""
    callers = [
        name
        for name, path in _modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "from_settings"
    ]
    assert callers == []
