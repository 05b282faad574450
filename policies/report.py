"""Turn a preview's policy results into a PR comment (Markdown) and SARIF 2.1.0 for code scanning.

    python -m cwroles.policies.report preview.json --markdown report.md --sarif report.sarif [--fail-on-mandatory]

Input (any of these; the format is detected):

* the engine event stream: ``PULUMI_DEBUG_COMMANDS=true pulumi preview --event-log events.jsonl``
  (the flag is hidden unless PULUMI_DEBUG_COMMANDS is set) or
  ``PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi preview --json`` — one JSON engine event per line,
  policy results in ``policyEvent`` objects (resourceUrn, message, policyName, policyPackName,
  policyPackVersion, enforcementLevel, severity). This is the format to use with the Pulumi CLI (3.259 to the pinned v3.274.1);
* a JSON array of engine events, or ``{"events": [...]}`` (the service's event API);
* the ``pulumi preview --json`` digest (``{"steps", "diagnostics", ...}``). The CLI (3.259, v3.274.1) leaves
  policy events out of the digest (pkg/backend/display/json.go: "we don't handle policy events in JSON
  serialization"); diagnostics that do carry policyName/enforcementLevel fields are read, and when
  none do the report says so instead of claiming a clean result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

WAIVED_POLICY = "cwroles-waived-grants"
PACK_ERRORS_POLICY = "cwroles-pack-errors"  # policies/rules/pack.py: PACK_ERRORS
# A policy that raised reports one of these instead of a result (policies/rules/pack.py): a failed check, so
# mandatory whatever level the failing policy runs at.
PACK_ERROR_PREFIXES = ("policy-pack error:", "policy-pack configuration problem:")
# What the engine prints when the pack itself failed (it raised past its guards, crashed, or did not start):
# pkg/resource/deploy/analyze_snapshot.go, step_generator.go and plugin/analyzer_plugin.go in CLI 3.259 (unchanged in v3.274.1).
_ENGINE_PACK_FAILURE = re.compile(
    r"^(?:error: )?(?:failed to run policy|failed to get analyzer info|failed to analyze resources"
    r"|policy pack \S+ failed to start)|Exception calling application", re.IGNORECASE)
PACK_FAILURE_DESCRIPTION = "The policy pack failed on this resource, so the resource was not checked."
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_COLOR = re.compile(r"<\{%[^%]*%\}>")
_LEVELS = {"mandatory": "mandatory", "error": "mandatory", "remediate": "mandatory",
           "advisory": "advisory", "warning": "advisory", "info": "advisory"}
NO_POLICY_DATA = (
    "This file has no policy results. `pulumi preview --json` (CLI 3.259 to v3.274.1) leaves policy events out of its "
    "JSON digest: run the preview with `PULUMI_DEBUG_COMMANDS=true` and `--event-log events.jsonl` (or "
    "with `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true` and `--json`) and pass that file instead."
)
NO_PACK_RAN = (
    "No policy pack ran in this preview (the events hold no policy results or summaries): run "
    "`PULUMI_DEBUG_COMMANDS=true pulumi preview --policy-pack policies --event-log events.jsonl` and pass that file."
)


@dataclass
class Violation:
    urn: str
    policy: str
    pack: str
    level: str  # mandatory | advisory | waived
    description: str
    detail: str
    severity: str = ""
    pack_version: str = ""

    @property
    def resource(self) -> str:
        return resource_label(self.urn)


@dataclass
class Results:
    violations: list[Violation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # non-policy error diagnostics
    checked: set[str] = field(default_factory=set)  # resources a policy pack analyzed
    packs: dict[str, str] = field(default_factory=dict)
    policy_data: bool = False  # a policy pack demonstrably ran (results, summaries, or load events)
    event_stream: bool = False
    preview_failed: bool = False  # the engine's summary says the preview failed

    @property
    def missing_data_notice(self) -> str:
        return NO_PACK_RAN if self.event_stream else NO_POLICY_DATA

    def by_level(self, level: str) -> list[Violation]:
        return [v for v in self.violations if v.level == level]

    @property
    def incomplete(self) -> bool:
        """The preview failed for another reason than a mandatory violation: the engine stops analysing at the
        first error, so resources after it were never checked. A gate that did not finish does not pass."""
        return not self.by_level("mandatory") and bool(self.errors or self.preview_failed)


class ReportInputError(ValueError):
    pass


def clean(text: str) -> str:
    return _COLOR.sub("", text or "").strip()


def resource_label(urn: str) -> str:
    """ "urn:pulumi:dev::cwroles::pulumi-python:dynamic/connectwise:RolePermissions::mobius" -> "RolePermissions mobius"."""
    if not urn:
        return "stack"
    parts = urn.split("::")
    if len(parts) >= 4:
        rtype = parts[-2].split("$")[-1]
        short = rtype.rsplit(":", 1)[-1] or rtype
        return f"{short} {parts[-1]}"
    return urn


def stack_of(urn: str) -> Optional[str]:
    m = re.match(r"urn:pulumi:([^:]+)::", urn or "")
    return m.group(1) if m else None


def _violation(d: dict, urn_key: str) -> Violation:
    msg = clean(d.get("message", ""))
    prefix = clean(d.get("prefix", "")).rstrip(": ").lower()
    raw_level = str(d.get("enforcementLevel") or d.get("level") or prefix or d.get("severity") or "").lower()
    level = _LEVELS.get(raw_level, "mandatory" if raw_level not in ("", "advisory") else "advisory")
    for lead in ("mandatory: ", "advisory: "):
        if msg.lower().startswith(lead):
            msg = msg[len(lead):]
    description, _, detail = msg.partition("\n")
    description, detail = description.strip(), detail.strip()
    if not detail:
        detail, description = description, str(d.get("description") or "")
    policy = str(d.get("policyName") or "")
    if detail.startswith(PACK_ERROR_PREFIXES) or policy == PACK_ERRORS_POLICY:
        level = "mandatory"  # a check that did not run fails, whatever level its policy runs at
    elif policy == WAIVED_POLICY or detail.startswith("WAIVED "):
        level = "waived"
    return Violation(urn=str(d.get(urn_key) or d.get("urn") or ""), policy=policy,
                     pack=str(d.get("policyPackName") or ""), level=level, description=description,
                     detail=detail, severity=str(d.get("severity") or "") if "enforcementLevel" in d else "",
                     pack_version=str(d.get("policyPackVersion") or ""))


def _error(results: Results, d: dict, urn_key: str = "urn") -> None:
    """An error diagnostic: a failure of the policy pack (a mandatory violation), or another preview error."""
    text = clean(str(d.get("prefix", "")) + str(d.get("message", "")))
    if not _ENGINE_PACK_FAILURE.search(text):
        results.errors.append(text)
        return
    results.policy_data = True  # a pack was loaded and failed: never "no pack ran"
    cause = clean(str(d.get("message", ""))).replace("Exception calling application: ", "")
    results.violations.append(Violation(
        urn=str(d.get(urn_key) or ""), policy=PACK_ERRORS_POLICY, pack="", level="mandatory",
        description=PACK_FAILURE_DESCRIPTION,
        detail=f"policy-pack error: the pack failed on this resource, so it is not verified ({cause}). Fix the "
               "pack's data or configuration named here, then preview again."))


_POLICY_EVENTS = ("policyEvent", "policyLoadEvent", "policyAnalyzeSummaryEvent", "policyAnalyzeStackSummaryEvent")


def _from_events(events: Iterable[dict], results: Results) -> None:
    results.event_stream = True
    for e in events:
        if not isinstance(e, dict):
            continue
        if any(k in e for k in _POLICY_EVENTS) or (e.get("summaryEvent") or {}).get("PolicyPacks"):
            results.policy_data = True
        if isinstance(e.get("policyEvent"), dict):
            results.violations.append(_violation(e["policyEvent"], "resourceUrn"))
        s = e.get("policyAnalyzeSummaryEvent")
        if isinstance(s, dict):
            results.checked.add(str(s.get("resourceUrn") or ""))
            results.packs[str(s.get("policyPackName"))] = str(s.get("policyPackVersion") or "")
        d = e.get("diagnosticEvent")
        if isinstance(d, dict) and d.get("severity") == "error" and not d.get("ephemeral"):
            _error(results, d)
        summary = e.get("summaryEvent")
        if isinstance(summary, dict) and str(summary.get("result") or "").lower() == "failed":
            results.preview_failed = True


def _from_digest(doc: dict, results: Results) -> None:
    for key in ("policyViolations", "policyEvents"):
        for d in doc.get(key) or []:
            if isinstance(d, dict):
                results.policy_data = True
                results.violations.append(_violation(d, "resourceUrn" if "resourceUrn" in d else "urn"))
    for d in doc.get("diagnostics") or []:
        if not isinstance(d, dict):
            continue
        if d.get("policyName"):
            results.policy_data = True
            results.violations.append(_violation(d, "urn"))
        elif str(d.get("severity", "")).lower() == "error":
            _error(results, d)


def parse(text: str) -> Results:
    results = Results()
    text = text.strip()
    if not text:
        raise ReportInputError("the input is empty; pass the file written by `pulumi preview --event-log` or --json")
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError:
        events = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ReportInputError(f"line {n} is not JSON ({e.msg}); expected `pulumi preview --json` output "
                                       "or an event log (one JSON event per line)") from None
        _from_events(events, results)
        return results
    if isinstance(doc, list):
        _from_events(doc, results)
    elif isinstance(doc, dict) and isinstance(doc.get("events"), list):
        _from_events(doc["events"], results)
    elif isinstance(doc, dict) and any(k in doc for k in ("policyEvent", "diagnosticEvent", "sequence")):
        _from_events([doc], results)
    elif isinstance(doc, dict):
        _from_digest(doc, results)
    else:
        raise ReportInputError("expected a JSON object or event list from `pulumi preview`")
    return results


# ---- Markdown --------------------------------------------------------------------------------------
def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _order(v: Violation) -> tuple:
    return ({"mandatory": 0, "advisory": 1, "waived": 2}[v.level], v.policy, v.detail)


def markdown(results: Results, title: str = "cwroles policy report") -> str:
    mand, adv, waived = (results.by_level(x) for x in ("mandatory", "advisory", "waived"))
    lines = [f"## {title}", ""]
    if not results.policy_data:
        lines += [f"> ⚠️ {results.missing_data_notice}", ""]
    elif mand:
        lines.append(f"**❌ {len(mand)} mandatory violation{'s' * (len(mand) != 1)}** "
                     f"block{'s' * (len(mand) == 1)} this pull request "
                     f"· {len(adv)} advisory · {len(waived)} waived")
    elif results.incomplete:
        lines.append("**❌ The preview failed**, so the policy check is incomplete (resources after the error were "
                     f"not checked; see the errors below) · {len(adv)} advisory · {len(waived)} waived")
    else:
        lines.append(f"**✅ No mandatory violations** · {len(adv)} advisory · {len(waived)} waived")
    if results.checked:
        lines.append(f"<sub>{len(results.checked)} resources checked by "
                     + ", ".join(f"{p}@{v}" if v else p for p, v in sorted(results.packs.items())) + "</sub>")
    lines.append("")
    # Findings by tier: what blocks the pull request, then what the reviewer reads (a policy's tier is its
    # enforcement level, which the pack config can raise), each by resource.
    mandatory_urns = {v.urn for v in mand}
    for level, heading in (("mandatory", "### ❌ Mandatory: block this pull request"),
                           ("advisory", "### ⚠️ Advisory: for the reviewer (a pack config can make a policy "
                                        "mandatory, see docs/policies.md)")):
        tier = [v for v in results.violations if v.level == level]
        if not tier:
            continue
        lines += [heading, ""]
        groups: dict[str, list[Violation]] = {}
        for v in sorted(tier, key=_order):
            groups.setdefault(v.urn, []).append(v)
        for urn, vs in sorted(groups.items()):
            if level == "mandatory":
                badge = f"❌ {len(vs)} mandatory"
            else:
                badge = f"⚠️ {len(vs)} advisory" if urn in mandatory_urns else "⚠️ advisory only"
            lines += [f"#### `{resource_label(urn)}` — {badge}", f"<sub>{urn or 'stack-level'}</sub>", ""]
            for v in vs:
                icon = "❌" if v.level == "mandatory" else "⚠️"
                lines.append(f"- {icon} **{v.level}** `{v.policy}`: {_md(v.detail)}")
            lines.append("")
    if waived:
        lines += ["### Waived exceptions", "",
                  "Accepted by a waiver: check each justification, approver and expiry date.", "",
                  "| Resource | Waived grant |", "|---|---|"]
        for v in sorted(waived, key=lambda v: (v.urn, v.detail)):
            lines.append(f"| `{resource_label(v.urn)}` | {_md(v.detail.removeprefix('WAIVED '))} |")
        lines.append("")
    if results.errors:
        lines += ["### Other errors in the preview", ""] + [f"- {_md(e)}" for e in results.errors] + [""]
    lines.append("<sub>Policies and waivers: docs/policies.md</sub>")
    return "\n".join(lines) + "\n"


# ---- SARIF ------------------------------------------------------------------------------------------
def sarif(results: Results, artifact: Optional[str] = None) -> dict:
    rules: list[dict] = []
    index: dict[str, int] = {}
    for v in sorted(results.violations, key=lambda v: v.policy):
        rid = v.policy or "policy"
        if rid not in index:
            index[rid] = len(rules)
            rules.append({
                "id": rid,
                "name": "".join(p.title() for p in re.split(r"[^A-Za-z0-9]+", rid) if p),
                "shortDescription": {"text": v.description or rid},
                "help": {"text": "See docs/policies.md for the policy, its data and how to waive a grant."},
                "properties": {"tags": ["pulumi-policy", v.pack or "policy"]},
            })
    out: list[dict] = []
    for v in sorted(results.violations, key=lambda v: (v.urn, _order(v))):
        rid = v.policy or "policy"
        uri = artifact or (f"Pulumi.{stack_of(v.urn)}.yaml" if stack_of(v.urn) else "Pulumi.yaml")
        r: dict[str, Any] = {
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": {"mandatory": "error", "advisory": "warning", "waived": "note"}[v.level],
            "message": {"text": f"{resource_label(v.urn)}: {v.detail}"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}},
                "logicalLocations": [{"fullyQualifiedName": v.urn or "stack", "kind": "resource"}],
            }],
            "partialFingerprints": {
                "cwrolesViolation/v1": hashlib.sha256(f"{rid}|{v.urn}|{v.detail}".encode()).hexdigest()},
            "properties": {"enforcementLevel": v.level, "urn": v.urn},
        }
        if v.level == "waived":
            r["suppressions"] = [{"kind": "external", "justification": v.detail.removeprefix("WAIVED ")}]
        out.append(r)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "cwroles-policies", "semanticVersion": "0.1.0",
                                "informationUri": "https://www.pulumi.com/docs/using-pulumi/crossguard/",
                                "rules": rules}},
            "results": out,
        }],
    }


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cwroles.policies.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="preview output: event log (JSON lines), event list, or --json digest; '-' = stdin")
    ap.add_argument("--markdown", type=Path, help="write the PR comment here")
    ap.add_argument("--sarif", type=Path, help="write SARIF 2.1.0 here")
    ap.add_argument("--sarif-artifact", help="file SARIF results point at (default: Pulumi.<stack>.yaml)")
    ap.add_argument("--title", default="cwroles policy report")
    ap.add_argument("--fail-on-mandatory", action="store_true",
                    help="exit 1 when a mandatory violation is present (an error inside the pack is one) or the "
                         "preview failed before the check was complete, 2 when the input shows no policy pack ran")
    a = ap.parse_args(argv)
    try:
        text = sys.stdin.read() if a.input == "-" else Path(a.input).read_text(encoding="utf-8")
        results = parse(text)
    except (OSError, ReportInputError) as e:
        print(f"policies.report: cannot read {a.input}: {e}", file=sys.stderr)
        return 2
    md = markdown(results, a.title)
    if a.markdown:
        a.markdown.write_text(md, encoding="utf-8")
    if a.sarif:
        a.sarif.write_text(json.dumps(sarif(results, a.sarif_artifact), indent=2), encoding="utf-8")
    if not a.markdown and not a.sarif:
        sys.stdout.write(md)
    mand = len(results.by_level("mandatory"))
    print(f"policies.report: {mand} mandatory, {len(results.by_level('advisory'))} advisory, "
          f"{len(results.by_level('waived'))} waived", file=sys.stderr)
    if not results.policy_data:
        print(f"policies.report: {results.missing_data_notice}", file=sys.stderr)
        return 2 if a.fail_on_mandatory else 0
    if results.incomplete:
        print(f"policies.report: the preview failed ({len(results.errors) or 'see its log'} error(s)), so the policy "
              "check is incomplete", file=sys.stderr)
    return 1 if (a.fail_on_mandatory and (mand or results.incomplete)) else 0


if __name__ == "__main__":
    sys.exit(main())
