"""Report writers for commands that judge many things at once (``cwroles drift``; reusable by others).

A ``Report`` is a list of ``Subject`` s (a stack, a role, an API member …), each with a status, a place
in a two-level grouping (e.g. tenant › integration) and its ``Item`` s (findings). One report gives:

- ``print_table``: the terminal table (rich);
- ``markdown``: a PR comment or ticket (GitHub-flavoured, kept under GitHub's comment limit);
- ``json_document``: the caller's documented schema (name + version), subjects as the caller serialises them;
- ``sarif``: SARIF 2.1.0 for code scanning, one rule per item kind, stable fingerprints;
- ``html``: one self-contained page (inline CSS, no script, no external resource), grouped.

Everything a subject or item says is escaped for the format it lands in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as _html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["Status", "Item", "Subject", "Report", "print_table", "markdown", "json_document", "sarif", "html",
           "write_text", "write_json", "SARIF_SCHEMA"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters


@dataclass(frozen=True)
class Status:
    """One outcome a subject can have. ``rank``: higher is worse (sorting, the overall verdict)."""

    key: str
    label: str
    icon: str  # for Markdown
    style: str  # rich style for the terminal
    sarif_level: str  # none | note | warning | error
    rank: int
    color: str = "#555"  # HTML badge


@dataclass(frozen=True)
class Item:
    rule: str  # stable id, e.g. "drift/level"
    where: str  # module › function › level, or the object it concerns
    message: str
    was: Optional[str] = None
    now: Optional[str] = None
    code: Optional[str] = None
    note: str = ""  # e.g. the cause, shown next to the item


@dataclass
class Subject:
    name: str
    status: str  # a Status key
    group: tuple[str, str]  # (e.g. tenant, integration) — the HTML page and the tables group by it
    summary: str
    fix: str = ""
    items: list[Item] = field(default_factory=list)
    location: Optional[str] = None  # the file a SARIF result points at (relative to the repository root)
    data: dict[str, Any] = field(default_factory=dict)  # the subject as the JSON schema has it


@dataclass
class Report:
    tool: str  # "cwroles drift"
    title: str
    statuses: Sequence[Status]
    subjects: list[Subject]
    group_names: tuple[str, str] = ("group", "subgroup")
    subject_name: str = "subject"
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    version: str = ""
    rules: dict[str, str] = field(default_factory=dict)  # rule id → one-line description
    notes: list[str] = field(default_factory=list)  # shown under the summary (e.g. where checklists are)

    def status(self, key: str) -> Status:
        return next(s for s in self.statuses if s.key == key)

    def counts(self) -> dict[str, int]:
        out = {s.key: 0 for s in self.statuses}
        for sub in self.subjects:
            out[sub.status] = out.get(sub.status, 0) + 1
        return out

    def worst(self) -> Optional[Status]:
        present = [self.status(s.status) for s in self.subjects]
        return max(present, key=lambda s: s.rank) if present else None

    def sorted_subjects(self) -> list[Subject]:
        return sorted(self.subjects, key=lambda s: (s.group, s.name))

    def summary_line(self, icons: bool = False) -> str:
        counts = self.counts()
        parts = [f"{(s.icon + ' ') if icons else ''}{counts[s.key]} {s.label}" for s in self.statuses if counts[s.key]]
        n = len(self.subjects)
        return f"{n} {self.subject_name}{'s' if n != 1 else ''}: " + (", ".join(parts) if parts else "none")


# ---- terminal --------------------------------------------------------------------------------------


def print_table(report: Report, console: Console, max_items: int = 12) -> None:
    """The table (one row per subject), then what differs and the fix for each subject that is not clean."""
    t = Table(title=report.title, title_justify="left")
    t.add_column(report.subject_name.title(), no_wrap=True)
    t.add_column(report.group_names[0].title(), overflow="fold")
    t.add_column(report.group_names[1].title(), overflow="fold")
    t.add_column("Verdict", no_wrap=True)
    t.add_column("Summary", overflow="fold")
    for s in report.sorted_subjects():
        st = report.status(s.status)
        t.add_row(s.name, s.group[0], s.group[1], Text(st.label, style=st.style), s.summary)
    console.print(t)
    for s in report.sorted_subjects():
        st = report.status(s.status)
        if st.rank == 0 and not s.items:
            continue
        head = Text(f"{s.name}", style="bold")
        head.append(f" ({s.group[0]} › {s.group[1]}): ")
        head.append(st.label, style=st.style)
        head.append(f" — {s.summary}")
        console.print(head, soft_wrap=True)
        for it in s.items[:max_items]:
            console.print(Text("  • " + _item_line(it)), soft_wrap=True)
        if len(s.items) > max_items:
            console.print(Text(f"  … and {len(s.items) - max_items} more (see the reports)"), soft_wrap=True)
        if s.fix:
            console.print(Text(f"  fix: {s.fix}"), soft_wrap=True)
    console.print(report.summary_line(), highlight=False)


def _item_line(it: Item) -> str:
    if it.was is not None or it.now is not None:
        text = f"{it.where}: {it.was if it.was is not None else '—'} → {it.now if it.now is not None else '—'}"
        if it.code is not None and it.code != it.now:
            text += f" (code: {it.code})"
    else:
        text = f"{it.where}: {it.message}"
    return text + (f" [{it.note}]" if it.note else "")


# ---- Markdown --------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """Text safe inside a Markdown table cell or list item."""
    s = str(text if text is not None else "—")
    for ch in "\\`*_[]<>|":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\r", " ").replace("\n", " ")


def _code(text: Any) -> str:
    """Text for a Markdown code span inside a table cell (backslashes would show there)."""
    return "`" + str(text).replace("`", "'").replace("|", "¦").replace("\n", " ") + "`"


def markdown(report: Report) -> str:
    worst = report.worst()
    head = worst.icon if worst else "✅"
    lines = [f"## {head} {_md(report.title)}", "", f"**{_md(report.summary_line())}** · {report.generated.isoformat()}"]
    lines += [""] + [f"> {_md(n)}" for n in report.notes] if report.notes else []
    g0, g1 = report.group_names
    lines += ["", f"| | {report.subject_name.title()} | {g0.title()} | {g1.title()} | What | Fix |", "|---|---|---|---|---|---|"]
    for s in report.sorted_subjects():
        st = report.status(s.status)
        lines.append(f"| {st.icon} {_md(st.label)} | {_code(s.name)} | {_md(s.group[0])} | {_md(s.group[1])} | "
                     f"{_md(s.summary)} | {_md(s.fix)} |")
    details = [s for s in report.sorted_subjects() if s.items]
    body: list[str] = []
    for s in details:
        st = report.status(s.status)
        body += ["", f"### {st.icon} {_code(s.name)} — {_md(s.group[0])} › {_md(s.group[1])}", "",
                 "| Where | Was | Now | Code | |", "|---|---|---|---|---|"]
        body += [f"| {_md(it.where)} | {_md(it.was)} | {_md(it.now)} | {_md(it.code)} | {_md(it.note)} |" for it in s.items]
        if s.fix:
            body += ["", f"**Fix:** {_md(s.fix)}"]
    text = "\n".join(lines)
    if body:
        rest = "\n".join(["", "<details><summary>Details</summary>", *body, "", "</details>"])
        if len(text) + len(rest) > MARKDOWN_LIMIT:
            rest = ("\n\n_The details are too long for a comment: see the JSON or HTML report._")
        text += rest
    return text + "\n"


# ---- JSON ------------------------------------------------------------------------------------------


def json_document(report: Report, schema: str, version: int, subjects_key: str,
                  extra: Optional[dict[str, Any]] = None, exit_code: Optional[int] = None) -> dict[str, Any]:
    summary: dict[str, Any] = {report.subject_name + "s": len(report.subjects), **report.counts()}
    if exit_code is not None:
        summary["exit_code"] = exit_code
    doc: dict[str, Any] = {"schema": schema, "version": version, "generated": report.generated.isoformat(),
                           "tool": {"name": report.tool, "version": report.version}}
    doc.update(extra or {})
    doc["summary"] = summary
    doc[subjects_key] = [s.data for s in report.subjects]
    return doc


# ---- SARIF -----------------------------------------------------------------------------------------


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def sarif(report: Report, information_uri: str = "https://github.com/cwroles/cwroles") -> dict[str, Any]:
    rule_ids: list[str] = []
    results: list[dict[str, Any]] = []

    def rule_index(rule: str) -> int:
        if rule not in rule_ids:
            rule_ids.append(rule)
        return rule_ids.index(rule)

    for s in report.sorted_subjects():
        st = report.status(s.status)
        if st.sarif_level == "none":
            continue
        entries = s.items or [Item(rule=f"{s.status}", where=s.name, message=s.summary)]
        for it in entries:
            text = f"{s.name} ({s.group[0]} › {s.group[1]}): {it.message}"
            if it.was is not None or it.now is not None:
                text += f" [was {it.was if it.was is not None else '—'} → now {it.now if it.now is not None else '—'}"
                text += f"; code: {it.code}]" if it.code is not None else "]"
            if s.fix:
                text += f" Fix: {s.fix}"
            result: dict[str, Any] = {
                "ruleId": it.rule,
                "ruleIndex": rule_index(it.rule),
                "level": st.sarif_level,
                "message": {"text": text},
                "partialFingerprints": {"cwroles/v1": _fingerprint(report.tool, s.name, it.rule, it.where)},
                "properties": {"status": s.status, "group": list(s.group), "where": it.where},
            }
            logical = [{"name": it.where, "fullyQualifiedName": f"{s.name}::{it.where}", "kind": "resource"}]
            if s.location:
                result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": s.location},
                                                             "region": {"startLine": 1}},
                                        "logicalLocations": logical}]
            else:
                result["locations"] = [{"logicalLocations": logical}]
            results.append(result)
    rules = [{"id": r, "name": r.replace("/", "-"),
              "shortDescription": {"text": report.rules.get(r, r)},
              "fullDescription": {"text": report.rules.get(r, r)},
              "defaultConfiguration": {"level": "warning"}} for r in rule_ids]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": report.tool.split()[0], "version": report.version or "0",
                                "informationUri": information_uri, "rules": rules}},
            "automationDetails": {"id": f"{report.tool.replace(' ', '-')}/{report.generated.date().isoformat()}"},
            "results": results,
        }],
    }


# ---- HTML ------------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f23;max-width:1200px}
h1{font-size:1.5rem;margin:0 0 .3rem} h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem;color:#444}
table{border-collapse:collapse;width:100%;margin:.3rem 0 1rem} th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:0 .45rem;font-size:.85em;white-space:nowrap}
.meta{color:#555} .note{color:#555;font-size:.9em} details{margin:.2rem 0} summary{cursor:pointer}
.counts span{margin-right:1rem}
"""


def _h(text: Any) -> str:
    return _html.escape(str(text if text is not None else "—"), quote=True)


def html(report: Report) -> str:
    counts = report.counts()
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_h(report.title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_h(report.title)}</h1>",
           f'<p class="meta">{_h(report.tool)} {_h(report.version)} · {_h(report.generated.isoformat())}</p>',
           '<p class="counts">' + "".join(
               f'<span><span class="badge" style="background:{st.color}">{_h(st.label)}</span> {counts[st.key]}</span>'
               for st in report.statuses) + "</p>"]
    out += [f'<p class="note">{_h(n)}</p>' for n in report.notes]
    g0, g1 = report.group_names
    groups: dict[str, list[Subject]] = {}
    for s in report.sorted_subjects():
        groups.setdefault(s.group[0], []).append(s)
    for name, subjects in groups.items():
        worst = max((report.status(s.status) for s in subjects), key=lambda st: st.rank)
        out.append(f'<h2>{_h(g0.title())}: {_h(name)} <span class="badge" style="background:{worst.color}">'
                   f"{_h(worst.label)}</span></h2>")
        by_sub: dict[str, list[Subject]] = {}
        for s in subjects:
            by_sub.setdefault(s.group[1], []).append(s)
        for sub, items in by_sub.items():
            out.append(f"<h3>{_h(g1.title())}: {_h(sub)}</h3>")
            out.append(f"<table><tr><th>{_h(report.subject_name.title())}</th><th>Verdict</th><th>What</th>"
                       "<th>Fix</th></tr>")
            for s in items:
                st = report.status(s.status)
                what = _h(s.summary)
                if s.items:
                    rows = "".join(f"<tr><td>{_h(it.where)}</td><td>{_h(it.was)}</td><td>{_h(it.now)}</td>"
                                   f"<td>{_h(it.code)}</td><td>{_h(it.note)}</td></tr>" for it in s.items)
                    what += (f"<details><summary>{len(s.items)} item{'s' if len(s.items) != 1 else ''}</summary>"
                             "<table><tr><th>Where</th><th>Was</th><th>Now</th><th>Code</th><th></th></tr>"
                             f"{rows}</table></details>")
                out.append(f"<tr><td><code>{_h(s.name)}</code></td><td><span class=\"badge\" "
                           f"style=\"background:{st.color}\">{_h(st.label)}</span></td><td>{what}</td>"
                           f"<td>{_h(s.fix) if s.fix else ''}</td></tr>")
            out.append("</table>")
    if not report.subjects:
        out.append("<p>Nothing was checked.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# ---- files -----------------------------------------------------------------------------------------


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a report
    return path


def write_json(path: Path, doc: Any) -> Path:
    return write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def group_by(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = {}
    for x in items:
        out.setdefault(key(x), []).append(x)
    return out
