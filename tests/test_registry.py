"""s1kit.registry: lazy entries, collisions, helpful lookup errors."""

from __future__ import annotations

import sys

import pytest

from s1kit.registry import Registry


def test_register_object_and_decorator():
    reg: Registry = Registry("widget")

    @reg.register("double")
    def double(x):
        return 2 * x

    assert double(3) == 6  # the decorator returns the function itself
    reg.register("ident", lambda x: x)
    assert reg.get("double") is double
    assert reg.get("ident")(5) == 5
    assert reg.names() == ["double", "ident"]
    assert "double" in reg and "triple" not in reg
    assert "widget" in repr(reg)


def test_lazy_module_attr_is_imported_on_get_and_cached():
    reg: Registry = Registry("thing")
    reg.register("dumps", "json:dumps")
    reg.register("missing", "json:no_such_attr")
    import json

    assert reg.get("dumps") is json.dumps
    assert reg._items["dumps"] is json.dumps  # resolved once, then cached
    with pytest.raises(AttributeError):
        reg.get("missing")


def test_lazy_entry_does_not_import_until_get(tmp_path, monkeypatch):
    mod = "s1kit_test_lazy_mod_xyz"
    (tmp_path / f"{mod}.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry = Registry("lazy")
    reg.register("v", f"{mod}:VALUE")
    assert mod not in sys.modules
    assert reg.get("v") == 42
    assert mod in sys.modules
    monkeypatch.delitem(sys.modules, mod)


def test_collision_is_an_error_but_same_object_is_fine():
    reg: Registry = Registry("source")
    obj = object()
    reg.register("a", obj)
    reg.register("a", obj)  # idempotent re-registration
    with pytest.raises(ValueError, match=r"source 'a' is already registered"):
        reg.register("a", object())
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", "json:dumps")
    assert reg.get("a") is obj


def test_unknown_name_suggests_close_names():
    reg: Registry = Registry("source")
    for name in ("tiny_math", "tiny_olympiad", "tiny_science"):
        reg.register(name, object())
    with pytest.raises(KeyError) as e:
        reg.get("tiny_maht")
    msg = str(e.value)
    assert "unknown source 'tiny_maht'" in msg
    assert "did you mean tiny_math" in msg
    assert "tiny_olympiad" in msg  # the known list
    with pytest.raises(KeyError) as e:
        reg.get("zzzzzz")
    assert "did you mean" not in str(e.value)


def test_project_registries_resolve():
    from s1kit.llm import BACKENDS
    from s1kit.sources import EVAL_SETS, SOURCES

    assert SOURCES.names() == ["tiny_math", "tiny_olympiad", "tiny_puzzles", "tiny_science"]
    for name in SOURCES.names():
        assert callable(SOURCES.get(name))
    assert callable(EVAL_SETS.get("tiny_chains"))
    assert BACKENDS.get("oracle").__name__ == "OracleBackend"


def test_reregistering_equal_lazy_string_is_idempotent():
    reg: Registry = Registry("source")
    target = "json:dumps"
    reg.register("a", target)
    reg.register("a", "".join(["json:", "dumps"]))  # equal text, another str object
