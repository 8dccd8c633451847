"""docs/sources.md carries the generated source catalogue; it must match the registry."""

from pathlib import Path

from s1kit.sources import HUB_SOURCES, PAPER_SOURCES, PUBLISHED_SOURCES
from s1kit.sources.catalog import BEGIN, END, catalog_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "sources.md"


def test_catalog_in_docs_is_current():
    text = DOC.read_text(encoding="utf-8")
    current = text[text.index(BEGIN): text.index(END) + len(END)] + "\n"
    assert current == catalog_markdown(), "regenerate: s1kit sources > the catalogue section of docs/sources.md"


def test_every_registered_hub_source_loads_and_is_documented():
    assert len(PAPER_SOURCES) == 16
    for name in HUB_SOURCES.names():
        src = HUB_SOURCES.get(name)
        assert src.name == name and src.doc.strip() and src.inputs
        assert src.kind == ("train" if name in PAPER_SOURCES else "published" if name in PUBLISHED_SOURCES else "eval")
