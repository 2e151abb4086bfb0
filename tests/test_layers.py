"""The arrows of docs/architecture.md hold: instances → components → core, services import no door,
and no module imports inside a function except where Celery and ``AppConfig.ready`` need it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "components", "instances", "kato_console")

# The modules of an app that hold its rules and reads: they may not look up the layers above them.
DOMAIN_MODULES = ("models.py", "services.py", "selectors.py", "rules.py", "validation.py", "environment.py")
# A door: a page, an API, the admin, a management command.
DOOR_PREFIXES = ("kato_console.api", "kato_console.api", "kato_console.pages.home", "instances.views")
DOOR_NAMES = ("admin", "admin_forms", "kato_api", "forms", "forms_component")


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def _imports(path: Path) -> Iterator[tuple[str, ast.AST, bool]]:
    """(module imported, node, whether the import sits inside a function) for every import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(sub) for sub in ast.walk(node) if sub is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node, id(node) in inside
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node, id(node) in inside
            for alias in node.names:  # from components import services
                yield f"{node.module}.{alias.name}", node, id(node) in inside


def _is(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _is_door(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return any(_is(module, prefix) for prefix in DOOR_PREFIXES) or last in DOOR_NAMES


ALL = list(_modules())


def test_it_finds_the_modules_it_checks() -> None:
    names = {name for name, _ in ALL}
    assert {"components.services", "instances.services", "core.audit"} <= names


@pytest.mark.parametrize(("name", "path"), [m for m in ALL if m[0].startswith("core.")])
def test_core_imports_no_app(name: str, path: Path) -> None:
    above = [m for m, _, _ in _imports(path) if _is(m, "components") or _is(m, "instances")]
    assert above == [], f"{name} imports {above}"


@pytest.mark.parametrize(
    ("name", "path"),
    [m for m in ALL if m[0].startswith("components.") and m[1].name in DOMAIN_MODULES],
)
def test_the_components_domain_does_not_import_instances(name: str, path: Path) -> None:
    above = sorted({m for m, _, _ in _imports(path) if _is(m, "instances")})
    assert above == [], f"{name} imports {above}"


@pytest.mark.parametrize(("name", "path"), [m for m in ALL if m[0].endswith((".services", ".selectors"))])
def test_services_and_selectors_import_no_door(name: str, path: Path) -> None:
    ours = {m for m, _, _ in _imports(path) if any(_is(m, package) for package in PACKAGES)}
    doors = sorted(m for m in ours if _is_door(m))
    assert doors == [], f"{name} imports {doors}"


@pytest.mark.parametrize(("name", "path"), ALL)
def test_no_import_sits_inside_a_function_but_in_tasks_and_ready(name: str, path: Path) -> None:
    allowed = name.endswith(".tasks") or name.endswith(".apps")
    late = [
        f"line {node.lineno}: {module}" for module, node, inside in _imports(path) if inside and not allowed
    ]
    assert late == [], f"{name} imports inside a function: {late}"


def test_it_notices_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from instances import models\n    return models\n")
    assert [(m, inside) for m, _, inside in _imports(module)] == [
        ("instances", True),
        ("instances.models", True),
    ]


INTEGRATIONS = ("kato_console.alerts", "kato_console.monitoring")


@pytest.mark.parametrize(("name", "path"), [m for m in ALL if m[0].startswith(("components", "instances"))])
def test_the_apps_hear_of_no_integration_but_through_signals(name: str, path: Path) -> None:
    above = sorted({m for m, _, _ in _imports(path) if any(_is(m, app) for app in INTEGRATIONS)})
    assert above == [], f"{name} imports {above}"
