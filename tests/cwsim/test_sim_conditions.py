"""Unit tests for the conditions / orderBy / fields language (cwsim/conditions.py)."""

from __future__ import annotations

import pytest

from cwroles.cwsim.conditions import (And, Cmp, ConditionError, Not, Or, compile_conditions, parse, parse_fields,
                              parse_order_by, project, sort_records, tokenize)

ROWS = [
    {"id": 1, "name": "Admin", "adminFlag": True, "roleType": None, "securityRole": {"id": 1, "name": "Admin"},
     "when": "2024-05-01T00:00:00Z", "ids": [3, 4]},
    {"id": 2, "name": "Integration", "adminFlag": False, "roleType": "API", "securityRole": {"id": 2, "name": "API"},
     "when": "2025-01-10T12:00:00Z", "ids": []},
    {"id": 3, "name": "Bob's role", "adminFlag": False, "roleType": "api", "securityRole": {"id": 2, "name": "API"},
     "when": None, "ids": [5]},
]


def ids(text: str) -> list[int]:
    pred = compile_conditions(text)
    return [r["id"] for r in ROWS if pred(r)]


def test_tokenizer_kinds_and_positions():
    toks = tokenize('securityRole/name = "A b" AND id in (1, 2.5) or d > [2025-01-01T00:00:00Z] and x = null')
    kinds = [t.kind for t in toks]
    assert kinds[:3] == ["FIELD", "OP", "STRING"]
    assert toks[0].value == "securityRole/name" and toks[2].value == "A b"
    assert ("KW", "and") in [(t.kind, t.value) for t in toks]
    assert [t.value for t in toks if t.kind == "NUMBER"] == [1, 2.5]
    assert any(t.kind == "DATE" for t in toks) and toks[-2].kind == "NULL" and toks[-1].kind == "EOF"


def test_parser_precedence_and_over_or():
    ast = parse("id = 1 or id = 2 and name = 'x'")
    assert isinstance(ast, Or) and isinstance(ast.right, And)
    ast = parse("(id = 1 or id = 2) and not name like 'x%'")
    assert isinstance(ast, And) and isinstance(ast.left, Or) and isinstance(ast.right, Not)
    assert parse("name not like 'a%'") == Cmp("name", "like", "a%", negate=True)


@pytest.mark.parametrize("text,expected", [
    ("id = 2", [2]),
    ("id != 2", [1, 3]),
    ("id <> 2", [1, 3]),
    ("id < 2", [1]),
    ("id <= 2", [1, 2]),
    ("id > 1", [2, 3]),
    ("id >= 3", [3]),
    ("name = 'admin'", [1]),                       # case-insensitive like SQL Server
    ('name = "Bob\'s role"', [3]),
    ("name = 'Bob''s role'", [3]),                 # doubled quote
    ("name like 'int%'", [2]),
    ("name like '%o%'", [2, 3]),
    ("name not like 'int%'", [1, 3]),
    ("name contains 'GRAT'", [2]),
    ("name not contains 'grat'", [1, 3]),
    ("id in (1, 3)", [1, 3]),
    ("id not in (1, 3)", [2]),
    ("roleType in ('API')", [2, 3]),
    ("adminFlag = true", [1]),
    ("adminFlag = False", [2, 3]),
    ("roleType = null", [1]),
    ("roleType != null", [2, 3]),
    ("securityRole/name = 'API'", [2, 3]),
    ("securityRole/id = 1 OR name = 'Integration'", [1, 2]),
    ("not (id = 1 or id = 2)", [3]),
    ("(id = 1 or id = 2) and adminFlag = false", [2]),
    ("when > [2024-12-31T00:00:00Z]", [2]),
    ("when < [2025-01-01]", [1]),
    ("ids contains 5", [3]),
    ("ID = 1", [1]),                                # field names are case-insensitive
])
def test_evaluation(text, expected):
    assert ids(text) == expected


@pytest.mark.parametrize("text,fragment", [
    ("name = ", "expected a value"),
    ("name = 'abc", "unterminated string"),
    ("(id = 1", "expected ')'"),
    ("id = 1 and", "expected a field name"),
    ("id 1", "expected an operator"),
    ("id = 1 id = 2", "expected and/or"),
    ("id in 1, 2", "expected '(' after in"),
    ("id in (1 2)", "expected ',' or ')'"),
    ("when > [not a date]", "invalid date"),
    ("name = 'a' # x", "unexpected character"),
    ("   ", "empty"),
    ("name not = 'x'", "like, contains or in after 'not'"),
])
def test_syntax_errors_say_where(text, fragment):
    with pytest.raises(ConditionError) as e:
        parse(text)
    assert fragment in str(e.value)


def test_evaluation_errors():
    with pytest.raises(ConditionError, match="unknown field 'nope'"):
        ids("nope = 1")
    with pytest.raises(ConditionError, match="is an object"):
        ids("securityRole = 1")
    with pytest.raises(ConditionError, match="compare it with true or false"):
        ids("adminFlag = 'yes'")


def test_order_by_and_fields():
    assert parse_order_by("name desc, securityRole/name asc") == [("name", True), ("securityRole/name", False)]
    assert [r["id"] for r in sort_records(list(ROWS), parse_order_by("securityRole/name desc, id desc"))] == [3, 2, 1]
    assert [r["id"] for r in sort_records(list(ROWS), parse_order_by("name"))] == [1, 3, 2]
    with pytest.raises(ConditionError, match="direction"):
        parse_order_by("name sideways")
    with pytest.raises(ConditionError, match="unknown field"):
        sort_records(list(ROWS), parse_order_by("bogus asc"))
    assert parse_fields("id, securityRole/name") == ["id", "securityRole/name"]
    assert project(ROWS[1], ["id", "securityRole/name"]) == {"id": 2, "securityRole": {"name": "API"}}
    with pytest.raises(ConditionError):
        parse_fields("id,,name")


# ---- hostile input is a 400, never a crash ---------------------------------------------------------------------
DEEP_PARENS = "(" * 250 + "id = 1" + ")" * 250
CHAINED_NOT = "not " * 1000 + "id = 1"


@pytest.mark.parametrize("text, position", [(DEEP_PARENS, 101), (CHAINED_NOT, 401)])
def test_nesting_beyond_the_limit_is_a_condition_error(text, position):
    with pytest.raises(ConditionError) as e:
        parse(text)
    assert str(e.value) == (f"more than 100 nested parentheses and 'not' at position {position}; "
                            "simplify the expression")


def test_nesting_up_to_the_limit_and_long_chains_work():
    assert ids("(" * 100 + "id = 1" + ")" * 100) == [1]
    assert ids("(not " * 50 + "id = 1" + ")" * 50) == [1]  # 50 'not' (even) and 50 parentheses
    assert ids("not " * 99 + "(id = 1)") == [2, 3]
    with pytest.raises(ConditionError):
        parse("not " * 100 + "(id = 1)")
    # thousands of terms: the parser loops, evaluation walks the chain without recursion
    assert ids(" or ".join(f"id = {i}" for i in range(5000, 0, -1))) == [1, 2, 3]
    assert ids(" and ".join(["id > 0"] * 5000 + ["name like 'b%'"])) == [3]
    from cwroles.cwsim.conditions import fields_of
    assert fields_of(parse(" or ".join(f"f{i} = 1" for i in range(3000)))) == {f"f{i}" for i in range(3000)}


def test_nesting_depth_is_counted_per_branch_not_in_total():
    """Sibling groups do not add up: 60 groups side by side, each 60 deep, are fine."""
    group = "(" * 60 + "id = 2" + ")" * 60
    assert ids(" or ".join([group] * 60)) == [2]


@pytest.mark.parametrize("text", [DEEP_PARENS, CHAINED_NOT])
def test_deep_conditions_over_http_answer_400_in_connectwise_shape(sim, api, caplog, text):
    with caplog.at_level("DEBUG", logger="cwsim"):
        r = api.get("/system/securityroles", params={"conditions": text})
        count = api.get("/system/securityroles/count", params={"conditions": text})
    for resp in (r, count):
        assert resp.status_code == 400, resp.text
        body = resp.json()
        assert set(body) == {"code", "message", "errors"} and body["code"] == "InvalidObject"
        assert body["message"].startswith("conditions: more than 100 nested parentheses and 'not' at position")
    assert not [rec for rec in caplog.records if rec.levelno >= 40], [rec.getMessage() for rec in caplog.records]
