"""No statement can change shape because of data: every statement pdbi sends is a constant, a
file of sql/, or a psycopg.sql composition of those with identifiers; values travel as bound
parameters or COPY data, never in the statement's text.

Checked statically over tasks/, flows/ and panel_app/: the statement argument of every
execute(), executemany(), copy() and of the postgres helpers must be built only from string
constants, `read_sql(...)`, the `psycopg.sql` classes, or names bound to those (a few helper
parameters are the statement their callers built, and their callers are checked).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for folder in ("tasks", "flows", "panel_app") for p in (ROOT / folder).rglob("*.py")
)
# call name -> position of its statement argument
STATEMENT_ARG = {"execute": 0, "executemany": 0, "copy": 0, "fetch_all": 1, "_execute": 1,
                 "_fetch_one": 1, "_batches": 1}  # fmt: skip
# read_text: apply_migrations reads the files of sql/migrations itself
SAFE_CALLS = {"read_sql", "read_text", "_compose", "_compose_sql", "SQL", "Identifier",
              "Literal", "Composed", "Placeholder", "format", "join"}  # fmt: skip
# the helpers that receive a statement built by their callers (whose calls are checked)
PASS_THROUGH = {("fetch_all", "query"), ("_execute", "statement"), ("_fetch_one", "statement"),
                ("_batches", "query"), ("run_sql_file", "relative")}  # fmt: skip


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _assignments(function: ast.AST, name: str) -> list[ast.expr]:
    found = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            targets = [t for t in node.targets if isinstance(t, ast.Name) and t.id == name]
            found += [node.value] * len(targets)
            for target in node.targets:  # a, b = x, y
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    found += [v for t, v in zip(target.elts, node.value.elts, strict=False)
                              if isinstance(t, ast.Name) and t.id == name]  # fmt: skip
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            target = node.target
            if isinstance(target, ast.Name) and target.id == name and node.value is not None:
                found.append(node.value)
    return found


def is_safe(node: ast.expr, function: ast.FunctionDef | None, depth: int = 0) -> bool:
    """Whether an expression can only evaluate to a statement no data went into."""
    if depth > 8:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Call):
        if _name(node.func) not in SAFE_CALLS:
            return False
        if _name(node.func) in ("format", "join"):  # sql.SQL(...).format(...), sql.SQL(", ").join
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            return receiver is not None and is_safe(receiver, function, depth + 1)
        if _name(node.func) == "SQL":  # sql.SQL(x): x must itself be safe text
            return all(is_safe(a, function, depth + 1) for a in node.args)
        return True  # read_sql(file), Identifier(name), Literal(value) quote or read files
    if isinstance(node, ast.Name) and function is not None:
        parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
        if node.id in parameters:
            return (function.name, node.id) in PASS_THROUGH
        values = _assignments(function, node.id)
        return bool(values) and all(is_safe(v, function, depth + 1) for v in values)
    return False


def statement_calls() -> list[tuple[str, ast.Call, ast.FunctionDef | None]]:
    calls = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        owner = {id(c): f for f in functions for c in ast.walk(f) if isinstance(c, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in STATEMENT_ARG:
                calls.append((str(path.relative_to(ROOT)), node, owner.get(id(node))))
    return calls


CALLS = statement_calls()


def test_the_checker_finds_the_statements() -> None:
    assert len(CALLS) > 30  # execute, copy and the helpers across tasks/ and panel_app/


@pytest.mark.parametrize(
    "source",
    ["f'select {x}'", "'select ' + x", "'select %s' % x", "x.format(y)", "str(x)",
     "sql.SQL(f'select {x}')", "sql.SQL(x)"],
)  # fmt: skip
def test_the_checker_rejects_statements_built_from_values(source: str) -> None:
    function = ast.parse(f"def f(conn, x, y):\n    conn.execute({source})").body[0]
    call = function.body[0].value  # type: ignore[attr-defined]
    assert not is_safe(call.args[0], function)  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "call", "function"), CALLS, ids=lambda v: "")
def test_every_statement_is_constant_or_composed(
    path: str, call: ast.Call, function: ast.FunctionDef | None
) -> None:
    position = STATEMENT_ARG[_name(call.func)]
    if len(call.args) <= position:
        pytest.skip("no positional statement (a keyword call)")
    statement = call.args[position]
    where = f"{path}:{call.lineno} {ast.unparse(statement)}"
    if _name(call.func) == "copy" and not isinstance(call.func, ast.Attribute):
        pytest.skip("not a cursor's copy")
    assert is_safe(statement, function), f"a statement built from something else: {where}"
