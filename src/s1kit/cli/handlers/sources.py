"""Handlers of the sources stage: `s1kit sources`, `fetch`, `fetch-model` and `fetch-official`."""

from __future__ import annotations

import json

from s1kit.cli.args import FetchArgs, FetchModelArgs, FetchOfficialArgs, SourcesArgs
from s1kit.settings import from_dict, load_json_arg
from s1kit.sources import HUB_SOURCES
from s1kit.sources.catalog import catalog_markdown
from s1kit.sources.fetch import fetch, fetch_model, fetch_official
from s1kit.tiny.student import StudentConfig, build_base


def sources_command(a: SourcesArgs) -> None:
    print(catalog_markdown(), end="")


def fetch_command(a: FetchArgs) -> None:
    sources = {name: HUB_SOURCES.get(name) for name in a.sources}
    print(json.dumps(fetch(sources, a.lock, a.dest, a.manifests, mirror=a.mirror or None)))


def fetch_model_command(a: FetchModelArgs) -> None:
    if a.kind == "hub":
        if not a.repo:
            raise ValueError("models.<name>.repo is required for kind 'hub'")
        src = fetch_model(a.repo, a.revision, a.lock, a.dest, a.out, mirror=a.mirror or None)
        print(f"{a.repo}@{a.revision}: {src} -> {a.out}")
        return
    if a.kind != "tiny":
        raise ValueError(f"models.<name>.kind {a.kind!r}: expected tiny or hub")
    if not a.corpus:
        raise ValueError("fetch-model --kind tiny needs --corpus (the pool its tokenizer is trained on)")
    cfg = from_dict(StudentConfig, load_json_arg(a.config_json, "--config-json"), "models.<name>.tiny")
    print(f"tiny student: {build_base(a.corpus, a.out, cfg)} parameters -> {a.out}")


def fetch_official_command(a: FetchOfficialArgs) -> None:
    spec = load_json_arg(a.config_json, "--config-json")
    missing = sorted({"repo", "commit", "files"} - set(spec))
    if missing:
        raise ValueError(f"config official: missing key(s) {missing}")
    files = spec["files"]
    if a.file:
        unknown = sorted(set(a.file) - set(files))
        if unknown:
            raise ValueError(f"fetch-official --file {unknown}: not pinned in config official.files")
        files = {p: files[p] for p in a.file}
    root = fetch_official(spec["repo"], spec["commit"], files, a.dest, mirror=spec.get("mirror") or None)
    print(f"{spec['repo']}@{spec['commit'][:12]}: {len(files)} file(s) verified -> {root}")
