"""The house rules of CONTRIBUTING.md, checked on the source: SQL only in repositories, one writer of
usage rows, org-scoped reads through `in_org`, the environment read only by `covey/config.py`.

Each check walks the syntax tree of every module, so a comment or a string never trips it, and a
failure names the file, the line and what to do instead.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import covey.models
from covey.config import Settings
from covey.models.base import OrgScoped

PACKAGE = Path(covey.models.__file__).parent.parent

# Plumbing that speaks SQL by its nature.
SQL_PLUMBING = {
    "kit/db.py": "the engine, sessions and the database ping",
    "reports/rollups.py": "the rollup upserts the usage writer runs in its own transaction",
    "scim/filters.py": "compiles SCIM filter expressions into the WHERE clauses scim.repository runs",
}
SQL_CONSTRUCTORS = {"select", "insert", "update", "delete", "text", "union", "union_all", "exists"}
SQL_METHODS = {"execute", "scalar", "scalars", "query", "get", "merge"}
# What a SQLAlchemy session or connection is called here; Redis pipelines also have `execute`.
SQL_RECEIVERS = {"session", "conn", "connection", "engine", "db"}
# The comment that marks a repository function reading across organizations on purpose.
CROSS_ORG = "# cross-org:"


def _modules(package: Path = PACKAGE) -> Iterator[tuple[str, ast.Module, str]]:
    for path in sorted(package.rglob("*.py")):
        source = path.read_text()
        yield path.relative_to(package).as_posix(), ast.parse(source), source


def _is_sql_home(name: str) -> bool:
    return name.endswith("repository.py") or name.startswith(("migrations/", "models/")) or name in SQL_PLUMBING


def _sqlalchemy_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            names.update(alias.asname or alias.name for alias in node.names if alias.name in SQL_CONSTRUCTORS)
    return names


def _receiver(node: ast.expr) -> str:
    """`session` in `session.execute`, `engine` in `db.engine.connect`."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def sql_outside_repositories(name: str, tree: ast.Module) -> list[str]:
    if _is_sql_home(name):
        return []
    constructors = _sqlalchemy_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in constructors:
            found.append(f"covey/{name}:{node.lineno}: {func.id}(…)")
        elif isinstance(func, ast.Attribute) and func.attr in SQL_METHODS and _receiver(func.value) in SQL_RECEIVERS:
            found.append(f"covey/{name}:{node.lineno}: {_receiver(func.value)}.{func.attr}(…)")
    return found


def _org_scoped_models() -> set[str]:
    return {
        name
        for name, value in vars(covey.models).items()
        if inspect.isclass(value) and issubclass(value, OrgScoped) and value is not OrgScoped
    }


def _root_name(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def unscoped_reads(name: str, tree: ast.Module, source: str, scoped: set[str]) -> list[str]:
    """`select(Model…)` or `session.get(Model, …)` of an org-scoped model in a repository, outside
    `in_org`, in a function not marked as reading across organizations."""
    if not name.endswith("repository.py"):
        return []
    lines = source.splitlines()
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = "\n".join(lines[function.lineno - 1 : function.end_lineno])
        if CROSS_ORG in body:
            continue
        for node in ast.walk(function):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            is_select = isinstance(func, ast.Name) and func.id == "select"
            is_get = isinstance(func, ast.Attribute) and func.attr == "get" and _receiver(func.value) == "session"
            if not (is_select or is_get):
                continue
            models = [_root_name(arg) for arg in (node.args if is_select else node.args[:1])]
            hit = next((m for m in models if m in scoped), None)
            if hit:
                found.append(f"covey/{name}:{node.lineno}: {function.name} reads {hit} without in_org")
    return found


def environment_reads(name: str, tree: ast.Module) -> list[str]:
    if name == "config.py":
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("getenv", "environ") and _root_name(node) == "os":
            store = False
            parent = getattr(node, "_parent", None)
            if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store):
                store = True  # handing a value to child processes is not reading the environment
            if not store:
                found.append(f"covey/{name}:{node.lineno}: os.{node.attr}")
    return found


def _with_parents(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child._parent = node  # type: ignore[attr-defined]
    return tree


def sql_hits(package: Path = PACKAGE) -> list[str]:
    return [hit for name, tree, _ in _modules(package) for hit in sql_outside_repositories(name, tree)]


def test_sql_is_written_only_in_repositories() -> None:
    found = sql_hits()
    assert not found, "SQL outside a repository.py; move it into the domain's repository:\n" + "\n".join(found)


def usage_writers(name: str, tree: ast.Module) -> list[str]:
    """Usage rows made or inserted anywhere but the one writer, `reports.rollups.record_usage`."""
    if name in ("reports/rollups.py", "usage/repository.py") or name.startswith(("models/", "migrations/")):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called in ("insert_batch", "UsageRecord", "UsageCharge"):
            found.append(f"covey/{name}:{node.lineno}: {called}(…)")
    return found


def test_usage_rows_have_one_writer() -> None:
    found = [hit for name, tree, _ in _modules() for hit in usage_writers(name, tree)]
    assert not found, "Usage rows are written by reports.rollups.record_usage (with their rollups):\n" + "\n".join(
        found
    )


def test_org_scoped_reads_go_through_in_org() -> None:
    scoped = _org_scoped_models()
    found = [hit for name, tree, source in _modules() for hit in unscoped_reads(name, tree, source, scoped)]
    assert not found, (
        f"Org-scoped reads must start from models.in_org(Model, org_id); a read across organizations on "
        f"purpose says why in a `{CROSS_ORG} …` comment in its function:\n" + "\n".join(found)
    )


def test_only_the_settings_read_the_environment() -> None:
    found = [hit for name, tree, _ in _modules() for hit in environment_reads(name, _with_parents(tree))]
    assert not found, "Only covey/config.py reads the environment; add a field to Settings:\n" + "\n".join(found)


def test_every_setting_says_what_it_is_for() -> None:
    """Its docstring is its line in the README's settings table (`python -m covey.docs`)."""
    silent = [name for name, field in Settings.model_fields.items() if not field.description]
    assert not silent, f"Settings fields without a docstring under them: {', '.join(silent)}"


def test_code_cites_the_design_in_the_repository() -> None:
    """Rules are cited as `docs/design.md §N`, the design that ships with the code."""
    found = [
        f"covey/{name}:{number}"
        for name, _, source in _modules()
        for number, line in enumerate(source.splitlines(), 1)
        if "DESIGN §" in line
    ]
    assert not found, "Cite docs/design.md §N, not DESIGN:\n" + "\n".join(found)


# The checks themselves: each one catches what it is for, so a green run means something.


def test_the_checks_catch_what_they_are_for() -> None:
    service = ast.parse(
        "from sqlalchemy import select\ndef f(session, org_id):\n    return session.scalars(select(User))\n"
    )
    assert len(sql_outside_repositories("users/service.py", service)) == 2
    assert sql_outside_repositories("users/repository.py", service) == []
    pipeline = ast.parse("def f(pipe):\n    return pipe.execute()\n")
    assert sql_outside_repositories("budgets/redis_counters.py", pipeline) == []

    source = "def f(session, org_id):\n    return session.scalars(select(User).where(User.id == 1))\n"
    assert unscoped_reads("users/repository.py", ast.parse(source), source, {"User"})
    marked = "def f(session):\n    # cross-org: every org's users, for start-up\n    return select(User)\n"
    assert unscoped_reads("users/repository.py", ast.parse(marked), marked, {"User"}) == []
    scoped = "def f(session, org_id):\n    return session.scalars(in_org(User, org_id))\n"
    assert unscoped_reads("users/repository.py", ast.parse(scoped), scoped, {"User"}) == []

    reads = _with_parents(ast.parse("import os\nx = os.environ.get('A')\ny = os.getenv('B')\n"))
    assert len(environment_reads("gateway/service.py", reads)) == 2
    handed = _with_parents(ast.parse("import os\nos.environ['A'] = 'b'\n"))
    assert environment_reads("cli/server.py", handed) == []

    writer = ast.parse(
        "def seed(session, r):\n    session.add(UsageRecord(**r))\n    repository.insert_batch(session, [r], [])\n"
    )
    assert len(usage_writers("demo/seed.py", writer)) == 2
    assert usage_writers("reports/rollups.py", writer) == []


def test_a_query_added_outside_a_repository_fails_the_rule(tmp_path: Path) -> None:
    """The rule over a package on disk, as it runs over covey/: a copy of a real service module passes,
    the same module with one query added fails, naming the file and the line."""
    service = (PACKAGE / "budgets" / "service.py").read_text()
    (tmp_path / "budgets").mkdir()
    target = tmp_path / "budgets" / "service.py"
    target.write_text(service)
    (tmp_path / "budgets" / "repository.py").write_text((PACKAGE / "budgets" / "repository.py").read_text())
    assert sql_hits(tmp_path) == []

    added = "\n\ndef total(session, org_id):\n    return session.scalar(select(BudgetLine.amount))\n"
    target.write_text("from sqlalchemy import select\n" + service + added)
    line = target.read_text().splitlines().index("    return session.scalar(select(BudgetLine.amount))") + 1
    assert sql_hits(tmp_path) == [
        f"covey/budgets/service.py:{line}: session.scalar(…)",
        f"covey/budgets/service.py:{line}: select(…)",
    ]
