"""`make mutation`: mutation testing of the modules that decide verdicts, retries and writes (mutmut 3).

    .venv/bin/python scripts/mutation.py [--only provider/_retry.py ...] [--max-children 2] [--fail-under 90]

What it does (see docs/testing.md):

1. Stages the code under build/mutation in its installed layout (``cwroles/provider/_retry.py`` and so on,
   from the package-dir table in pyproject.toml): mutmut names a mutant after its file's path, and the tests
   import ``cwroles.provider._retry``; the two must agree.
2. Runs ``mutmut run`` there with the [tool.mutmut] section of pyproject.toml (which modules, which tests).
   mutmut 3 leaves decorated functions alone; this script lets it mutate them too (``@property``,
   ``@lru_cache``, validators, ``@_guard``), keeping the decorators on the function the tests call and
   off the mutant copies behind it.
3. Prints the score per module, killed / (mutants − excluded), and writes build/mutation/report.md with
   every surviving mutant's diff. Mutants listed in scripts/mutation-excluded.yaml (message text only, or
   provably equivalent; each with its reason) are left out of the score and listed separately.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
STAGE = REPO / "build" / "mutation"
EXCLUDED = REPO / "scripts" / "mutation-excluded.yaml"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def package_dirs(project: dict[str, Any]) -> dict[str, str]:
    """{'cwroles': 'cwroles', 'cwroles.provider': 'provider', ...} from [tool.setuptools] package-dir."""
    return dict(project["tool"]["setuptools"]["package-dir"])


def staged_path(repo_path: str, dirs: dict[str, str]) -> str:
    """'provider/_retry.py' -> 'cwroles/provider/_retry.py' (the installed layout)."""
    best = max((d for d in dirs.values() if repo_path.startswith(d.rstrip("/") + "/")), key=len)
    package = next(p for p, d in dirs.items() if d == best)
    return package.replace(".", "/") + repo_path[len(best):]


def repo_path(staged: str, dirs: dict[str, str]) -> str:
    """'cwroles/provider/_retry.py' -> 'provider/_retry.py'."""
    best = max((p for p in dirs if staged.startswith(p.replace(".", "/") + "/")), key=len)
    return dirs[best] + staged[len(best.replace(".", "/")):]


# ---- 1. staging -------------------------------------------------------------------------------------------
def stage(project: dict[str, Any]) -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    dirs = package_dirs(project)
    for package, folder in sorted(dirs.items(), key=lambda kv: kv[0].count(".")):  # parents first
        shutil.copytree(REPO / folder, STAGE / package.replace(".", "/"), ignore=SKIP, dirs_exist_ok=True)
    shutil.copy2(REPO / "pyproject.toml", STAGE / "pyproject.toml")
    shutil.copytree(REPO / "tests", STAGE / "tests", ignore=SKIP)
    for extra in project["tool"]["mutmut"].get("also_copy", []):  # files the tests read by path
        src = REPO / extra
        if src.is_dir():
            shutil.copytree(src, STAGE / extra, ignore=SKIP, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, STAGE / extra)
    selected = selected_functions(project)
    for module, names in selected.items():
        staged = STAGE / staged_path(module, dirs)
        staged.write_text(only_these_functions(staged.read_text(encoding="utf-8"), names), encoding="utf-8")
    conftest = STAGE / "tests" / "conftest.py"  # mutmut copies tests/ (not the stage's root) into mutants/
    before = conftest.read_text(encoding="utf-8") + "\n\n" if conftest.exists() else ""
    conftest.write_text(before + fresh_caches_conftest(project, selected), encoding="utf-8")


def cached_functions(code: str) -> list[str]:
    """Top-level functions of ``code`` decorated with functools' ``lru_cache`` or ``cache``."""
    def cached(d: ast.expr) -> bool:
        d = d.func if isinstance(d, ast.Call) else d
        name = d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else ""
        return name in ("lru_cache", "cache")
    return [n.name for n in ast.parse(code).body
            if isinstance(n, ast.FunctionDef) and any(cached(d) for d in n.decorator_list)]


def fresh_caches_conftest(project: dict[str, Any], selected: dict[str, list[str]]) -> str:
    """A conftest that empties the caches of the mutated cached functions before each test. mutmut maps a
    function to the tests that call it; with a warm cache only the first test that calls it reaches the function,
    so a mutant there would be run against that one test alone (the others count on the cached result)."""
    dirs = package_dirs(project)
    targets = []
    for module in project["tool"]["mutmut"]["only_mutate"]:
        repo = repo_path(module, dirs)
        wanted = selected.get(repo)
        for name in cached_functions((REPO / repo).read_text(encoding="utf-8")):
            if wanted is None or name in wanted:
                targets.append((module[:-3].replace("/", "."), name))
    return textwrap.dedent(f"""\
        # Written by scripts/mutation.py (see fresh_caches_conftest there).
        import sys

        import pytest

        CACHED = {targets!r}


        @pytest.fixture(autouse=True)
        def _fresh_caches():
            for module, name in CACHED:
                fn = getattr(sys.modules.get(module), name, None)
                if fn is not None and hasattr(fn, "cache_clear"):
                    fn.cache_clear()
            yield
        """)


def selected_functions(project: dict[str, Any]) -> dict[str, list[str]]:
    """[tool.mutmut.only_mutate_functions]: repository path -> the functions of it to mutate (the rest of
    that module, e.g. I/O or wording, is left alone). Modules not listed are mutated whole."""
    return dict(project["tool"]["mutmut"].get("only_mutate_functions", {}))


def only_these_functions(code: str, names: list[str]) -> str:
    """``code`` with ``# pragma: no mutate block`` on the header of every top-level function and method not in
    ``names`` ("function", "Class.method", or "Class" for all its methods). The comment goes at the end of the
    ``def`` line's colon, so line numbers (and mutmut's diffs) stay the same."""
    import libcst as cst

    wanted = set(names)
    found: set[str] = set()

    def keep(qualified: str) -> bool:
        hit = qualified in wanted or qualified.split(".", 1)[0] in wanted
        if hit:
            found.update({qualified, qualified.split(".", 1)[0]} & wanted)
        return hit

    def pragma(fn: cst.FunctionDef) -> cst.FunctionDef:
        body = fn.body
        if not isinstance(body, cst.IndentedBlock):  # `def f(): return 1` on one line: nothing we target
            return fn
        comment = "# pragma: no mutate block"
        if body.header.comment is not None:
            comment += "  " + body.header.comment.value.lstrip("# ")
        header = body.header.with_changes(whitespace=cst.SimpleWhitespace("  "), comment=cst.Comment(comment))
        return fn.with_changes(body=body.with_changes(header=header))

    module = cst.parse_module(code)
    out = []
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and not keep(stmt.name.value):
            stmt = pragma(stmt)
        elif isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            methods = [pragma(m) if isinstance(m, cst.FunctionDef) and not keep(f"{stmt.name.value}.{m.name.value}")
                       else m for m in stmt.body.body]
            stmt = stmt.with_changes(body=stmt.body.with_changes(body=methods))
        out.append(stmt)
    missing = wanted - found
    if missing:
        raise SystemExit(f"[tool.mutmut.only_mutate_functions] names functions the module does not have: "
                         f"{', '.join(sorted(missing))}")
    return module.with_changes(body=out).code


# ---- 2. mutmut, mutating decorated functions too ------------------------------------------------------------
def _mutate_decorated_functions() -> None:
    """mutmut 3 skips every decorated function but @staticmethod/@classmethod ones, because it copied the
    decorators onto the copies behind its trampoline (a @property copy is not callable, an @lru_cache copy
    caches). Keep decorators only on the trampoline, the function the code calls, and mutate the body."""
    import libcst as cst
    from libcst.metadata import PositionProvider
    from mutmut.mutation import file_mutation as fm

    assert hasattr(fm.MutationVisitor, "_skip_node_and_children") and hasattr(fm, "function_trampoline_arrangement"), \
        "mutmut changed: check scripts/mutation.py against the pinned version"

    def plain_method_decorator(node: cst.FunctionDef) -> bool:
        """@staticmethod / @classmethod alone: mutmut's own handling, which keeps them on the copies."""
        return (len(node.decorators) == 1 and isinstance(node.decorators[0].decorator, cst.Name)
                and node.decorators[0].decorator.value in ("staticmethod", "classmethod"))

    skip = fm.MutationVisitor._skip_node_and_children

    def skip_node_and_children(self, node):  # type: ignore[no-untyped-def]
        if isinstance(node, cst.FunctionDef) and node.decorators and not plain_method_decorator(node):
            position = self.get_metadata(PositionProvider, node, None)
            if position and position.start.line in self._ignored_node_lines:  # "# pragma: no mutate function"
                self.ignored_functions.add(node.name.value)
                return True
            return node.name.value in fm.NEVER_MUTATE_FUNCTION_NAMES or node in self._enum_creation_hooks
        return skip(self, node)

    arrange = fm.function_trampoline_arrangement

    def function_trampoline_arrangement(function, mutants, class_name):  # type: ignore[no-untyped-def]
        declarations, methods, assignments, names = arrange(function, mutants, class_name)
        if function.decorators and not plain_method_decorator(function):
            methods = [methods[0], *(m.with_changes(decorators=[]) for m in methods[1:])]
        return declarations, methods, assignments, names

    fm.MutationVisitor._skip_node_and_children = skip_node_and_children
    fm.function_trampoline_arrangement = function_trampoline_arrangement


def run_mutmut(max_children: int) -> int:
    """In build/mutation, as a separate process (mutmut reads its config from the working directory)."""
    return subprocess.call([sys.executable, __file__, "--mutmut-run", "--max-children", str(max_children)],
                           cwd=STAGE)


def _fastest_tests_first() -> None:
    """mutmut hands a mutant its tests in set order; run them fastest first (by the durations it measured), so a
    killed mutant stops at a quick failing test instead of after a slow one that passes."""
    from mutmut.state import state
    from mutmut.workers import isolation

    assert hasattr(isolation.ForkServerRunner, "submit"), "mutmut changed: check scripts/mutation.py"
    submit = isolation.ForkServerRunner.submit

    def submit_sorted(self, mutant_name, tests, cpu_time_limit, estimated_time):  # type: ignore[no-untyped-def]
        durations = state().duration_by_test
        ordered = sorted(tests, key=lambda t: (durations.get(t, 0.0), t))
        return submit(self, mutant_name, ordered, cpu_time_limit, estimated_time)

    isolation.ForkServerRunner.submit = submit_sorted


def _mutmut_run_here(max_children: int) -> None:
    _mutate_decorated_functions()
    _skip_message_strings(package_dirs(pyproject()))
    _fastest_tests_first()
    from mutmut.__main__ import cli

    cli(["run", "--max-children", str(max_children)], standalone_mode=True)


# ---- 3. scores ----------------------------------------------------------------------------------------------
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class Mutant:
    name: str
    module: str  # repository path, e.g. provider/_retry.py
    function: str  # Client._send
    status: str
    diff: str = ""
    excluded: Optional[dict] = None

    @property
    def change(self) -> tuple[list[str], list[str]]:
        """(removed lines, added lines) of the mutant's diff, stripped."""
        lines = self.diff.splitlines()
        removed = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
        added = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
        return removed, added


@dataclass
class ModuleScore:
    module: str
    mutants: list[Mutant] = field(default_factory=list)

    @property
    def counted(self) -> list[Mutant]:
        return [m for m in self.mutants if m.excluded is None]

    @property
    def killed(self) -> int:
        return sum(m.status in KILLED for m in self.counted)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / len(self.counted) if self.counted else 100.0


def _function_of(mutant_name: str) -> str:
    """'cwroles.provider._client.xǁClientǁ_send__mutmut_12' -> 'Client._send'; 'x_parse__mutmut_3' -> 'parse'."""
    generated = mutant_name.rpartition(".")[2].rsplit("__mutmut_", 1)[0]
    if generated.startswith("xǁ"):
        _, cls, fn = generated.split("ǁ")
        return f"{cls}.{fn}"
    return generated.removeprefix("x_")


# ---- message-text mutants -------------------------------------------------------------------------------------
# A string is "message text" when it is only text for a person: an argument of an exception, of a log call or of a
# policy report, the message (and fix) of a Finding or a Problem, an item of a list of problems, a
# hint=/reason=/message=/summary=/fix= keyword, or the value of a variable named msg/message/hint/reason/....
# Strings compared, used as keys, headers, methods, kinds, causes or statuses are never message text.
# scripts/mutation.py does not mutate message strings at all (it lists them in the report), and a surviving mutant
# whose every change rewrites a message string (mutmut's XX-wrapping, upper or lower case, or None) is left out of
# the score the same way.
MESSAGE_CALL = re.compile(r"(Error|Exception|Warning)$|^(warning|info|debug|error|exception|critical|report|echo)$")
# positional arguments that are message text, by the called name (and by module where two classes share a name)
MESSAGE_ARGS: dict[str, Any] = {
    "Finding": {"policies/rules/evaluate.py": slice(0, 1), "stacks/drift.py": slice(3, 4)},  # the message only
    "problem": slice(0, 2), "notice": slice(0, 2), "Problem": slice(0, 2),  # message, fix (never the severity)
    "UnknownName": slice(0, 2), "_error": slice(1, 3),  # drift's _error(stack, message, fix)
    "require_known": slice(1, 2),  # the property named when the SDK says "can't run during preview"
}
MESSAGE_KEYWORDS = {"hint", "reason", "message", "summary", "detail", "fix"}
MESSAGE_VARIABLES = {"msg", "message", "hint", "reason", "why", "note", "what", "fix", "desc", "source", "via", "known",
                     "wait", "summary", "rule", "lead", "comma"}  # not "text" or "levels": data is named so too


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _message_args(name: str, module: str) -> Optional[slice]:
    spec = MESSAGE_ARGS.get(name)
    return spec.get(module) if isinstance(spec, dict) else spec


def _in_message_position(node: ast.AST, parents: dict[ast.AST, ast.AST], module: str = "") -> bool:
    child, cur = node, parents.get(node)
    while cur is not None:
        if isinstance(cur, (ast.Compare, ast.Subscript, ast.Dict, ast.Set, ast.match_case)) or (
                isinstance(cur, (ast.If, ast.While, ast.IfExp, ast.BoolOp, ast.Assert)) and child is getattr(cur, "test", None)):
            return False
        if isinstance(cur, ast.keyword):
            return cur.arg in MESSAGE_KEYWORDS
        if isinstance(cur, ast.Call):
            func = cur.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if child is func:
                return False
            if name in MESSAGE_ARGS:  # e.g. Finding(kind, message, ...): only the message
                positions = _message_args(name, module)
                return positions is not None and child in cur.args[positions]
            if name == "append" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                return func.value.id.endswith(("problems", "notes", "parts"))  # lists of messages (not a checklist's lines)
            if name in ("join", "format", "str"):
                return _in_message_position(cur, parents, module)
            return bool(MESSAGE_CALL.search(name))
        if isinstance(cur, ast.Assign):
            return all(isinstance(t, ast.Name) and t.id in MESSAGE_VARIABLES for t in cur.targets)
        if isinstance(cur, ast.AugAssign):
            return isinstance(cur.target, ast.Name) and cur.target.id in MESSAGE_VARIABLES
        if isinstance(cur, (ast.Return, ast.stmt)):
            return False
        child, cur = cur, parents.get(cur)
    return False


Span = tuple[tuple[int, int], tuple[int, int]]  # ((line, column), (end line, end column)), columns in characters


def message_spans(code: str, module: str) -> list[Span]:
    """Where the message strings of ``code`` are (outermost string nodes: a concatenation is one)."""
    tree = ast.parse(code)
    parents = _parents(tree)
    lines = code.splitlines()

    def chars(line: int, byte_col: int) -> int:  # ast columns count UTF-8 bytes, libcst's count characters
        return len(lines[line - 1].encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    spans: list[Span] = []
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))
        if not is_text or isinstance(parents.get(node), (ast.JoinedStr, ast.FormattedValue)):
            continue
        if isinstance(parents.get(node), ast.Expr):  # a docstring
            continue
        if _in_message_position(node, parents, module):
            spans.append(((node.lineno, chars(node.lineno, node.col_offset)),
                          (node.end_lineno or node.lineno, chars(node.end_lineno or node.lineno, node.end_col_offset or 0))))
    return spans


def _in_spans(position: tuple[int, int], spans: list[Span]) -> bool:
    return any(start <= position < end for start, end in spans)


MESSAGE_STRINGS = STAGE / "message-strings.jsonl"  # the message strings left unmutated, one JSON object a line


def _skip_message_strings(dirs: dict[str, str]) -> None:
    """mutmut mutates every plain string; leave message strings alone (a mutant there changes what a person
    reads, which the tests of each message check, not the score) and record each in MESSAGE_STRINGS."""
    import libcst as cst
    from libcst.metadata import PositionProvider
    from mutmut.mutation import file_mutation as fm
    from mutmut.mutation.mutators import operator_string

    assert hasattr(fm.MutationVisitor, "_should_mutate_node") and hasattr(fm, "create_mutations"), \
        "mutmut changed: check scripts/mutation.py against the pinned version"
    current: dict[str, Any] = {"module": "", "spans": []}
    create = fm.create_mutations

    def create_mutations(filename, code, *args, **kwargs):  # type: ignore[no-untyped-def]
        current["module"] = repo_path(str(filename), dirs)
        current["spans"] = message_spans(code, current["module"])
        return create(filename, code, *args, **kwargs)

    should = fm.MutationVisitor._should_mutate_node

    def should_mutate_node(self, node):  # type: ignore[no-untyped-def]
        if not should(self, node):
            return False
        if isinstance(node, cst.SimpleString):
            position = self.get_metadata(PositionProvider, node, None)
            if position is not None and _in_spans((position.start.line, position.start.column), current["spans"]):
                record = {"module": current["module"], "line": position.start.line, "text": node.value,
                          "mutants": len(list(operator_string(node)))}
                with open(MESSAGE_STRINGS, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                return False
        return True

    fm.create_mutations = create_mutations
    fm.MutationVisitor._should_mutate_node = should_mutate_node


def _differences(a: ast.AST, b: ast.AST) -> Optional[list[tuple[ast.AST, ast.AST]]]:
    """Pairs of differing leaves (same tree shape otherwise), or None when the shapes differ."""
    if type(a) is not type(b):
        return [(a, b)] if isinstance(a, ast.Constant) and isinstance(b, ast.Constant) else None
    if isinstance(a, ast.Constant):
        return [] if (type(a.value), a.value) == (type(b.value), b.value) else [(a, b)]
    out: list[tuple[ast.AST, ast.AST]] = []
    for field_name, va in ast.iter_fields(a):
        vb = getattr(b, field_name, None)
        if isinstance(va, list):
            if not isinstance(vb, list) or len(va) != len(vb):
                return None
            pairs = list(zip(va, vb))
        else:
            pairs = [(va, vb)]
        for x, y in pairs:
            if isinstance(x, ast.AST) and isinstance(y, ast.AST):
                d = _differences(x, y)
                if d is None:
                    return None
                out += d
            elif x != y and field_name not in ("name",):
                return None
    return out


def message_only(original: str, mutant: str, module: str = "") -> bool:
    """Does the mutant only rewrite message text (see above)?"""
    a, b = ast.parse(textwrap.dedent(original)), ast.parse(textwrap.dedent(mutant))
    diffs = _differences(a, b)
    if not diffs:
        return False
    parents = _parents(a)
    for x, y in diffs:
        if not (isinstance(x, ast.Constant) and isinstance(x.value, str)
                and isinstance(y, ast.Constant) and (y.value is None or isinstance(y.value, str))):
            return False
        if not _in_message_position(x, parents, module):
            return False
    return True


def load_exclusions() -> list[dict]:
    import yaml

    data = yaml.safe_load(EXCLUDED.read_text(encoding="utf-8")) if EXCLUDED.exists() else None
    entries = (data or {}).get("excluded") or []
    for e in entries:
        missing = {"module", "function", "from", "to", "kind", "reason"} - set(e)
        if missing or e["kind"] not in ("message", "equivalent"):
            raise SystemExit(f"{EXCLUDED.relative_to(REPO)}: entry {e!r} needs module, function, from, to, "
                             "kind (message|equivalent) and reason")
    return entries


def _matches(m: Mutant, e: dict) -> bool:
    removed, added = m.change
    to = str(e["to"] or "").strip()  # empty: the mutant deletes the line
    return (m.module, m.function) == (e["module"], e["function"]) and removed == [str(e["from"]).strip()] \
        and added == ([to] if to else [])


def collect(project: dict[str, Any]) -> dict[str, ModuleScore]:
    dirs = package_dirs(project)
    os.chdir(STAGE)
    sys.path.insert(0, str(STAGE / "mutants"))
    from mutmut.mutation.data import SourceFileMutationData
    import libcst as cst
    from mutmut.mutation.diff_apply import (get_diff_for_mutant, read_mutant_function, read_mutants_module,
                                            read_original_function)
    from mutmut.stats import status_by_exit_code
    from mutmut.utils.file_utils import walk_mutatable_files

    exclusions = load_exclusions()
    used: set[int] = set()
    scores: dict[str, ModuleScore] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        module = repo_path(str(path), dirs)
        score = scores.setdefault(module, ModuleScore(module))
        module_cst = read_mutants_module(path)
        for name, exit_code in sorted(data.exit_code_by_key.items()):
            m = Mutant(name, module, _function_of(name), status_by_exit_code[exit_code])
            if m.status not in KILLED:
                m.diff = get_diff_for_mutant(name, path=path)
                for i, e in enumerate(exclusions):
                    if _matches(m, e):
                        m.excluded, _ = e, used.add(i)
                        break
                else:
                    original = cst.Module([read_original_function(module_cst, name)]).code
                    mutated = cst.Module([read_mutant_function(module_cst, name)]).code
                    if message_only(original, mutated, module):
                        m.excluded = {"kind": "message", "reason": "changes only message text"}
            score.mutants.append(m)
    stale = [e for i, e in enumerate(exclusions) if i not in used and e["module"] in scores]
    for e in stale:
        print(f"note: {EXCLUDED.relative_to(REPO)} lists a mutant that no longer survives: {e['module']} "
              f"{e['function']}: {e['from']!r} -> {e['to']!r}", file=sys.stderr)
    return scores


def report(scores: dict[str, ModuleScore], seconds: float, max_children: int) -> str:
    day = time.strftime("%Y-%m-%d")
    lines = [f"# Mutation scores ({day}, mutmut, {max_children} workers, {seconds / 60:.1f} min)", "",
             "| module | mutants | excluded | killed | survived | score |", "|---|---:|---:|---:|---:|---:|"]
    for s in scores.values():
        excluded = len(s.mutants) - len(s.counted)
        lines.append(f"| {s.module} | {len(s.mutants)} | {excluded} | {s.killed} | {len(s.counted) - s.killed} | "
                     f"{s.score:.0f} % |")
    lines.append("")
    for s in scores.values():
        survivors = [m for m in s.counted if m.status not in KILLED]
        excluded = [m for m in s.mutants if m.excluded is not None]
        if not survivors and not excluded:
            continue
        lines += [f"## {s.module}", ""]
        for m in survivors:
            lines += [f"### {m.function} ({m.status}: `{m.name}`)", "", "```diff", m.diff, "```", ""]
        for m in excluded:
            lines.append(f"- excluded ({m.excluded['kind']}) {m.function}: {m.excluded['reason']}")
        lines.append("")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--only", nargs="*", default=[], help="repository paths of the modules to mutate (default: all "
                                                          "in [tool.mutmut] only_mutate)")
    ap.add_argument("--fail-under", type=float, default=None, help="exit 1 when a module scores below this")
    ap.add_argument("--mutmut-run", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--report-only", action="store_true", help="score the last run again (after editing exclusions)")
    a = ap.parse_args(argv)
    if a.mutmut_run:
        _mutmut_run_here(a.max_children)
        return 0
    project = pyproject()
    started = time.monotonic()
    if not a.report_only:
        stage(project)
        if a.only:
            dirs = package_dirs(project)
            conf = (STAGE / "pyproject.toml").read_text(encoding="utf-8")
            wanted = json.dumps([staged_path(p, dirs) for p in a.only])
            start = conf.index("only_mutate = [")
            end = conf.index("]", start) + 1
            (STAGE / "pyproject.toml").write_text(conf[:start] + f"only_mutate = {wanted}" + conf[end:],
                                                 encoding="utf-8")
        code = run_mutmut(a.max_children)
        if code != 0:
            print(f"mutation: mutmut exited {code}", file=sys.stderr)
            return code
    scores = collect(project)
    text = report(scores, time.monotonic() - started, a.max_children)
    (STAGE / "report.md").write_text(text, encoding="utf-8")
    print(text.split("\n## ", 1)[0])
    print(f"survivors and exclusions: {(STAGE / 'report.md').relative_to(REPO)}")
    low = [s.module for s in scores.values() if a.fail_under is not None and s.score < a.fail_under]
    if low:
        print(f"mutation: below {a.fail_under:g} %: {', '.join(low)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
