"""Every problem code the source can raise is in the one list clients read
(``http/problem_codes.py``, served at /problems), and nothing is listed
that nothing raises. Found by walking the source: a code is a dotted
lower-case name (``contract.not_found``) in a string literal; a code built
from parts (``f"contract.{action}.not_active"``) must match listed codes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from contractledger.http.problem_codes import PROBLEM_CODES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "projections", "http", "sync", "store", "runtime")
CODE_SHAPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
# dotted names that are not codes: loggers, file names, and a field of an inbound change
NOT_CODES = re.compile(r"^(contractledger|gunicorn|[a-z])\.|\.(sqlite3|conf|json|log|html|css)$|^change\.status$")


def _sources() -> list[tuple[Path, ast.AST]]:
    return [(path, ast.parse(path.read_text())) for package in PACKAGES for path in sorted((ROOT / package).glob("*.py"))]


def _literal_codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_SHAPE.match(node.value):
                if not NOT_CODES.search(node.value):
                    found.setdefault(node.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _built_codes() -> dict[str, str]:
    """Codes built from parts where an error is raised: the f-string, as a pattern."""
    errors = {"RuleBroken", "InvalidInput", "NotFound", "NotPermitted", "Conflict", "Problem"}
    found: dict[str, str] = {}
    for path, tree in _sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in errors):
                continue
            code_argument = node.args[1 if getattr(node.func, "id", None) == "Problem" else 0] if node.args else None
            if isinstance(code_argument, ast.JoinedStr):
                pattern = "".join(
                    re.escape(part.value) if isinstance(part, ast.Constant) else "[a-z_]+" for part in code_argument.values
                )
                found[pattern] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_problem_code_the_source_raises_is_listed_with_its_meaning() -> None:
    unlisted = {code: where for code, where in _literal_codes().items() if code not in PROBLEM_CODES}
    assert unlisted == {}
    for pattern, where in _built_codes().items():
        assert any(re.fullmatch(pattern, code) for code in PROBLEM_CODES), (pattern, where)
    assert all(meaning.strip() and meaning.endswith(".") for meaning in PROBLEM_CODES.values())


def test_every_listed_problem_code_is_raised_somewhere() -> None:
    literal = set(_literal_codes())
    patterns = list(_built_codes())
    dead = [code for code in PROBLEM_CODES if code not in literal and not any(re.fullmatch(p, code) for p in patterns)]
    assert dead == []


def test_the_walk_finds_codes_built_from_parts() -> None:
    """The walk itself: it sees both the literal codes and the built ones (else the tests above prove nothing)."""
    assert {"contract.not_found", "request.invalid_field", "auth.token_required"} <= set(_literal_codes())
    assert any(re.fullmatch(p, "contract.vest.not_active") for p in _built_codes())


STATUS_OF_ERROR = {"InvalidInput": 422, "RuleBroken": 422, "NotFound": 404, "NotPermitted": 403, "Conflict": 409}


def _raise_sites() -> list[tuple[str, int, str]]:
    """(code, status, where) of every raise whose status the source says: ``Problem(falcon.HTTP_xxx, code)``,
    a domain error (its kind's status) and a sync peer's refusal (``{"error": kind, "code": code}``); a code
    given by a module constant is resolved, one built from parts stands for every listed code it matches."""
    sites: list[tuple[str, int, str]] = []
    for path, tree in _sources():
        constants = {
            target.id: node.value.value for node in getattr(tree, "body", [])
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Dict):
                pairs = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
                error, code = pairs.get("error"), pairs.get("code")
                if isinstance(error, ast.Constant) and isinstance(code, ast.Constant):
                    sites.append((code.value, STATUS_OF_ERROR[error.value], where))
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name == "Problem" and len(node.args) >= 2 and isinstance(node.args[0], ast.Attribute):
                status, argument = int(node.args[0].attr.removeprefix("HTTP_")), node.args[1]
            elif name in STATUS_OF_ERROR:
                status, argument = STATUS_OF_ERROR[name], node.args[0]
            else:
                continue
            if isinstance(argument, ast.Name) and argument.id in constants:
                argument = ast.Constant(constants[argument.id])
            if isinstance(argument, ast.Constant):
                sites.append((argument.value, status, where))
            elif isinstance(argument, ast.JoinedStr):
                pattern = "".join(re.escape(p.value) if isinstance(p, ast.Constant) else "[a-z_]+" for p in argument.values)
                sites += [(code, status, where) for code in PROBLEM_CODES if re.fullmatch(pattern, code)
                          and code.split(".")[0] != "token"]  # f"{what}.party_required" is a record's, not a token's
    return sites


def test_every_code_is_answered_with_one_status_the_one_its_table_gives() -> None:
    from contractledger.http.problem_statuses import CODES_BY_STATUS, STATUS_OF_CODE

    assert sorted(STATUS_OF_CODE) == sorted(PROBLEM_CODES)
    assert sum(len(codes) for codes in CODES_BY_STATUS.values()) == len(STATUS_OF_CODE), "a code under two statuses"
    sites = _raise_sites()
    assert len(sites) > 150, "the walk finds the raises"
    assert [(code, status, where) for code, status, where in sites if STATUS_OF_CODE.get(code) != status] == []
