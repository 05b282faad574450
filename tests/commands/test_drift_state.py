"""cwroles.stacks.state: a project's stacks, state and config as the engine keeps them, read without the engine."""

from __future__ import annotations

import gzip
import json

import pytest

from cwroles.stacks.state import StateError, Workspace, decrypt_value

# Written by the Pulumi CLI 3.259 (`pulumi config set --secret …`, passphrase "correct horse battery staple"):
# the format must be read exactly as the engine writes it.
KAT_PASSPHRASE = "correct horse battery staple"
KAT_STACK_FILE = """\
encryptionsalt: v1:rG7pz0LCUp4=:v1:Rge0164uNQYeDmfz:eaHvrDwgK72z194VcbEiM5GHnF+c9w==
config:
  connectwise:privateKey:
    secure: v1:J27UPFNIIdGuHeZz:lVBXKnZckvE4mmXds/Ov1yx7uE972UM3N5G2dehwy2eXfkS+HQ==
  cwroles:extra:
    token:
      secure: v1:T9rrCGOoHQAaytMF:jUaabZWIdwV46616URCUwTOh8i5nEeW8Bu8Gzc47fg8=
  connectwise:companyId: acme
"""


def _project(root, name="kat", backend=None, extra=""):
    root.mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n{extra}")
    return root


def _checkpoint(path, stack, project, resources=(), gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"version": 3, "checkpoint": {"stack": f"organization/{project}/{stack}", "latest": {
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:abc"}},
        "resources": [{"urn": f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}",
                       "type": "pulumi:pulumi:Stack"}, *resources]}}}
    raw = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def test_secrets_written_by_the_pulumi_cli_decrypt_and_nested_ones_too(tmp_path):
    root = _project(tmp_path / "p")
    (root / "Pulumi.kat.yaml").write_text(KAT_STACK_FILE)
    ws = Workspace(root, environ={"PULUMI_CONFIG_PASSPHRASE": KAT_PASSPHRASE, "PULUMI_BACKEND_URL": "file://./.state"})
    cfg = ws.config("kat")
    assert cfg.is_secret("connectwise:privateKey") and not cfg.is_secret("connectwise:companyId")
    assert cfg.get("connectwise:privateKey") == "s3cr3t-Private_Key/+="
    assert cfg.get("cwroles:extra") == {"token": "nested ✓ value"}
    assert cfg.get("connectwise:companyId") == "acme"
    assert ws.keys.derivations <= 1  # one key for the salt, then memory


def test_passphrase_from_a_file_is_trimmed_as_pulumi_does(tmp_path):
    root = _project(tmp_path / "p")
    (root / "Pulumi.kat.yaml").write_text(KAT_STACK_FILE)
    (tmp_path / "pass").write_text(KAT_PASSPHRASE + "\n")
    ws = Workspace(root, environ={"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "pass")})
    assert ws.config("kat").get("connectwise:privateKey") == "s3cr3t-Private_Key/+="


def test_wrong_or_missing_passphrase_is_said_plainly_and_never_echoed(tmp_path):
    root = _project(tmp_path / "p")
    (root / "Pulumi.kat.yaml").write_text(KAT_STACK_FILE)
    with pytest.raises(StateError) as e:
        Workspace(root, environ={"PULUMI_CONFIG_PASSPHRASE": "wrong one"}).config("kat").get("connectwise:privateKey")
    assert "incorrect passphrase" in e.value.message and "wrong one" not in str(e.value) + e.value.fix
    with pytest.raises(StateError) as e:
        Workspace(root, environ={}).config("kat").get("connectwise:privateKey")
    assert "PULUMI_CONFIG_PASSPHRASE" in e.value.message + e.value.fix
    # a plain value never needs the passphrase
    assert Workspace(root, environ={}).config("kat").get("connectwise:companyId") == "acme"


def test_decrypt_value_refuses_what_is_not_a_v1_secret():
    key = bytes(range(32))
    for bad in ("plain", "v2:AAAA:BBBB", "v1:!!:BBBB", "v1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAA"):
        with pytest.raises(ValueError):
            decrypt_value(key, bad)


def test_stacks_of_a_project_scoped_file_backend(tmp_path):
    root = _project(tmp_path / "p", name="cwroles")
    stacks = tmp_path / "state" / ".pulumi" / "stacks" / "cwroles"
    (tmp_path / "state" / ".pulumi" / "meta.yaml").parent.mkdir(parents=True)
    (tmp_path / "state" / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    _checkpoint(stacks / "acme-mobius.json", "acme-mobius", "cwroles")
    _checkpoint(stacks / "beta-mobius.json.gz", "beta-mobius", "cwroles", gz=True)
    (stacks / "acme-mobius.json.bak").write_text("{}")
    (stacks / "acme-mobius.json.attrs").write_text("{}")
    _checkpoint(tmp_path / "state" / ".pulumi" / "stacks" / "other" / "x.json", "x", "other")
    ws = Workspace(root, environ={"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}"})
    assert ws.stacks() == ["acme-mobius", "beta-mobius"]
    assert ws.state("beta-mobius").of_type("pulumi:pulumi:Stack")
    with pytest.raises(StateError) as e:
        ws.state("nope")
    assert "no stack 'nope'" in e.value.message and "pulumi stack ls" in e.value.fix


def test_legacy_layout_keeps_only_this_projects_stacks(tmp_path):
    root = _project(tmp_path / "p", name="cwroles")
    stacks = tmp_path / "state" / ".pulumi" / "stacks"
    res = [{"urn": "urn:pulumi:a::cwroles::pulumi-python:dynamic/connectwise:SecurityRole::r", "type": "x"}]
    _checkpoint(stacks / "a.json", "a", "cwroles", resources=res)
    _checkpoint(stacks / "b.json", "b", "other",
                resources=[{"urn": "urn:pulumi:b::other::aws:s3/bucket:Bucket::b", "type": "aws:s3/bucket:Bucket"}])
    ws = Workspace(root, environ={"PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}"})
    assert ws.stacks() == ["a"]


def test_backend_from_pulumi_yaml_or_login_and_env_wins(tmp_path):
    root = _project(tmp_path / "p", name="cwroles", extra="backend:\n  url: file://./.state\n")
    ws = Workspace(root, environ={})
    assert ws.file_backend == root / ".state"
    home = tmp_path / "home"
    home.mkdir()
    (home / "credentials.json").write_text(json.dumps({"current": f"file://{tmp_path / 'elsewhere'}"}))
    root2 = _project(tmp_path / "q", name="cwroles")
    assert Workspace(root2, environ={"PULUMI_HOME": str(home)}).file_backend == tmp_path / "elsewhere"
    env = {"PULUMI_HOME": str(home), "PULUMI_BACKEND_URL": "s3://user:pw@bucket/path?region=x"}
    ws = Workspace(root2, environ=env)
    assert ws.file_backend is None
    assert ws.backend == "s3://bucket/path"  # never the credentials a URL may carry


def test_config_as_the_engine_gives_it_to_the_program(tmp_path):
    root = _project(tmp_path / "p", name="cwroles",
                    extra="config:\n  cwroles:integration:\n    type: string\n  region:\n    default: eu\n")
    (root / "Pulumi.s.yaml").write_text(
        "config:\n  cwroles:waivers:\n    - {module: Finance, function: Invoicing, expires: 2027-06-30}\n"
        "  cwroles:features: [a, b]\n  connectwise:maxRetries: 2\n  flag: true\n")
    cfg = Workspace(root, environ={}).config("s")
    assert cfg.get("cwroles:waivers") == [{"module": "Finance", "function": "Invoicing", "expires": "2027-06-30"}]
    assert cfg.get("cwroles:features") == ["a", "b"]
    assert cfg.get("connectwise:maxRetries") == "2"
    assert cfg.get("cwroles:flag") == "true" and cfg.get("cwroles:region") == "eu"
    assert cfg.get("cwroles:integration") is None  # a declared key without a default is unset
    assert set(cfg.namespace("cwroles")) == {"waivers", "features", "flag", "region"}


def test_broken_files_are_state_errors_with_a_fix(tmp_path):
    with pytest.raises(StateError) as e:
        Workspace(tmp_path)
    assert "no Pulumi.yaml" in e.value.message and "--dir" in e.value.fix
    root = _project(tmp_path / "p", name="cwroles")
    (root / "Pulumi.s.yaml").write_text("config: [unclosed\n")
    with pytest.raises(StateError, match="not valid YAML"):
        Workspace(root, environ={}).config("s")
