"""The project files a module needs: the static import closure, over ``pipelines`` and ``services``.

    from pipelines.imports import closure
    closure(["pipelines.tasks.translation"])   # -> ["pipelines/__init__.py", "pipelines/data/__init__.py", ...]

Every ``import`` statement counts, at module level or inside a function (the code imports heavy
modules lazily), and importing ``a.b.c`` also runs the ``__init__.py`` of ``a`` and ``a.b``. Modules
named only in strings (the registry's ``"module:Class"`` entries) are not followed: the caller lists
them as entry points. The result is what a DVC stage depends on and what a ``.mar`` carries.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "services")


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of a project module (``a/b.py`` or ``a/b/__init__.py``), or None when it is not one."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def _imports(path: Path, module: str, root: Path) -> tuple[str, ...]:
    """Every project module ``path`` (module ``module``) imports, directly."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from ..a import b
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import submodule`
    return tuple(m for m in found if module_file(m, root))


def closure(entries: list[str], root: Path = ROOT) -> list[str]:
    """Sorted POSIX paths (relative to ``root``) of every project file the ``entries`` modules need."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = module_file(module, root)
        if path is None:
            if module in entries:
                raise ModuleNotFoundError(f"{module!r} is not a module of {', '.join(PACKAGES)} under {root}")
            continue
        files.add(path)
        todo += _parents(module)
        todo += [m for m in _imports(path, module, root) if m not in seen]
    return sorted(p.relative_to(root).as_posix() for p in files)
