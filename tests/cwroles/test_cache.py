"""The caches' common ground (cwroles/cache.py): where they live, what makes a key change, and that reading or
writing an entry never fails an operation."""

from __future__ import annotations

import os

from cwroles import cache


def test_default_folder_is_under_the_cwroles_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("CWROLES_PLAN_CACHE", raising=False)
    monkeypatch.setenv("CWROLES_CACHE", str(tmp_path))
    assert cache.cache_dir() == tmp_path / "plans"
    monkeypatch.delenv("CWROLES_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "cwroles" / "plans"


def test_code_stamp_follows_every_code_and_data_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "__pycache__").mkdir()
    files = [tmp_path / "a.py", tmp_path / "data" / "catalog.json", tmp_path / "data" / "x.yaml"]
    for f in files:
        f.write_text("1")
    stamp = cache.code_stamp([tmp_path])
    (tmp_path / "__pycache__" / "a.pyc").write_text("compiled")  # not code the plan depends on
    (tmp_path / "notes.txt").write_text("not code")
    assert cache.code_stamp([tmp_path]) == stamp
    for f in files:
        before = cache.code_stamp([tmp_path])
        f.write_text("22")
        assert cache.code_stamp([tmp_path]) != before, f
    before = cache.code_stamp([tmp_path])
    os.utime(files[0], ns=(1, 1))  # the same file installed again: same content, another time
    assert cache.code_stamp([tmp_path]) == before
    files[0].write_text("33")  # same size, other content
    assert cache.code_stamp([tmp_path]) != before


def test_code_stamp_does_not_depend_on_where_the_code_is_installed(tmp_path):
    for place in ("a", "b"):
        (tmp_path / place / "cwroles" / "data").mkdir(parents=True)
        (tmp_path / place / "cwroles" / "x.py").write_text("x = 1\n")
        (tmp_path / place / "cwroles" / "data" / "c.json").write_text("{}")
    assert cache.code_stamp([tmp_path / "a" / "cwroles"]) == cache.code_stamp([tmp_path / "b" / "cwroles"])




def test_off_means_no_folder(monkeypatch):
    for value in ("off", "OFF", " off "):
        monkeypatch.setenv("CWROLES_PLAN_CACHE", value)
        assert cache.cache_dir() is None


def test_digest_ignores_key_order_and_sees_every_value():
    assert cache.digest({"a": 1, "b": [1, 2]}) == cache.digest({"b": [1, 2], "a": 1})
    assert cache.digest({"a": 1, "b": [1, 2]}) != cache.digest({"a": 1, "b": [2, 1]})


def test_entries_round_trip_and_a_damaged_one_reads_as_missing(tmp_path):
    path = tmp_path / "deep" / "entry.json"
    assert cache.read_json(path) is None and cache.read_json(None) is None
    assert cache.write_json(path, {"check": {}}) and cache.read_json(path) == {"check": {}}
    path.write_text("{damaged")
    assert cache.read_json(path) is None


def test_an_entry_that_cannot_be_written_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cache.write_json(blocker / "entry.json", {}) is False
    assert cache.write_json(tmp_path / "entry.json", {"not json": object()}) is False
    assert cache.write_json(None, {}) is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_prune_removes_only_old_entries(tmp_path):
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    for f in (old, new):
        f.write_text("{}")
    os.utime(old, (1, 1))
    cache.prune(tmp_path, 30)
    cache.prune(tmp_path / "missing", 30)
    cache.prune(None, 30)
    assert [p.name for p in tmp_path.iterdir()] == ["new.json"]
