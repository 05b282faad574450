"""cwroles/data/catalog.json (the compiled catalog) agrees with cwroles/data/catalog.yaml, and a stale
or broken compiled form is never used."""

import hashlib
import json
from pathlib import Path

import pytest
import yaml

import cwroles.catalog as C

DATA = Path(C.__file__).with_name("data")


def test_compiled_catalog_is_current():
    assert (DATA / "catalog.json").read_text(encoding="utf-8") == C.compile_catalog(), (
        "cwroles/data/catalog.json is stale: run `python -m cwroles.catalog` after editing catalog.yaml")


def test_compiled_catalog_holds_the_same_data_as_the_yaml():
    compiled = C.CompiledCatalog.model_validate_json((DATA / "catalog.json").read_bytes())
    from_yaml = C.Catalog.model_validate(yaml.safe_load((DATA / "catalog.yaml").read_text(encoding="utf-8")))
    assert compiled.sha256 == hashlib.sha256((DATA / "catalog.yaml").read_bytes()).hexdigest()
    assert compiled.catalog.model_dump() == from_yaml.model_dump()
    assert C.load_catalog().model_dump() == from_yaml.model_dump()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """load_catalog reading from a copy of the data directory."""
    for name in ("catalog.yaml", "catalog.json"):
        (tmp_path / name).write_bytes((DATA / name).read_bytes())
    monkeypatch.setattr(C, "data_file", lambda name: tmp_path / name)
    C.load_catalog.cache_clear()
    yield tmp_path
    C.load_catalog.cache_clear()


def test_stale_compiled_form_is_ignored(data_dir):
    # The YAML was edited (a function renamed) but catalog.json was not rebuilt: the YAML wins.
    text = (data_dir / "catalog.yaml").read_text(encoding="utf-8")
    assert "name: Company Maintenance" in text
    edited = text.replace("name: Company Maintenance", "name: Company Upkeep", 1).replace(
        "- Company maintenance\n", "- Company upkeep\n", 1)
    (data_dir / "catalog.yaml").write_text(edited, encoding="utf-8")
    cat = C.load_catalog()
    assert cat.function("Companies", "Company Upkeep")[1].name == "Company Upkeep"
    with pytest.raises(C.CatalogError):
        cat.function("Companies", "Company Maintenance")


@pytest.mark.parametrize("content", ["", "{not json", json.dumps({"sha256": "x"})])
def test_broken_compiled_form_falls_back_to_the_yaml(data_dir, content):
    (data_dir / "catalog.json").write_text(content, encoding="utf-8")
    assert C.load_catalog().function("Companies", "Company Maintenance")[1].name == "Company Maintenance"


def test_compiled_form_is_what_loads_when_current(data_dir):
    # Prove the fast path is taken: a marker only the JSON carries shows up in the loaded catalog.
    doc = json.loads((data_dir / "catalog.json").read_text(encoding="utf-8"))
    doc["catalog"]["about"] = "compiled marker"
    (data_dir / "catalog.json").write_text(json.dumps(doc), encoding="utf-8")
    assert C.load_catalog().about == "compiled marker"


def test_lookups_prefer_the_first_entry_in_catalog_order():
    # The indexes must keep the linear search's answer: the first module/function in catalog order wins.
    cat = C.load_catalog()
    for m in cat.modules:
        for name in [m.name, *m.aliases]:
            first = next(x for x in cat.modules if C.normalize(name) in {C.normalize(n) for n in [x.name, *x.aliases]})
            assert cat.module(name) is first
        for f in m.functions:
            for name in [f.name, *f.aliases]:
                first = next(x for x in m.functions
                             if C.normalize(name) in {C.normalize(n) for n in [x.name, *x.aliases]})
                assert cat.function(m.name, name) == (m, first)
