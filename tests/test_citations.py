"""Every citation of the official s1 code and of the paper in the kit's text resolves.

Checked in README.md, Snakefile, docs/, src/, config/, workflow/, containers/ and
benchmarks/ (prose, comments, docstrings and strings alike) against the byte copies of
simplescaling/s1 at the pinned commit in ``../shared/official-s1`` (MANIFEST.tsv lists them):

- A citation of official code is ``path:line (identifier)``, or
  ``data/filter.ipynb cell N (identifier)``: ``path`` relative to the official repo root,
  ``line`` 1-based (``path:a-b`` for a range), ``N`` the 0-based index into the notebook's
  ``cells`` (markdown cells counted), ``identifier`` a string that occurs verbatim within 3
  lines of the cited line(s) / in the cited cell. One line holds the whole citation.
- An official code file (.py, .sh, .ipynb) named without a line is a loose mention and
  fails, except a bare file path as a whole string literal, a YAML key or a YAML list item
  (file lists such as the pinned fetch). Data files (grading.txt, msc.json, the task YAMLs)
  may be named as whole files. Basenames the kit shares (utils.py, gemini.py) count only
  with an official directory in front (``lm_eval/...``, ``data/...``).
- ``official `Name``` must name something that exists in the official files.
- A commit of the official code other than the pinned one (``@3b87ded``) fails.
- The paper is cited as ``arXiv 2501.19393v3 §N`` / ``Table N`` / ``Figure N`` /
  ``Eq. N`` / ``Appendix X``, with numbers that exist in v3; never ``PAPER.md``.

Skips, saying why, when ``../shared/official-s1`` is absent.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = (ROOT / ".." / "shared" / "official-s1").resolve()
PINNED = "77272c6e925d610257a50b520bad15330b513389"
SCANNED = ["README.md", "Snakefile", "docs", "src", "config", "workflow", "containers", "benchmarks"]
TEXT_SUFFIXES = {".md", ".py", ".smk", ".yaml", ".yml", ".rst", ".txt", ".sh", ".def", ".toml", ".cfg", ".json"}
WINDOW = 3  # lines either side of a cited line in which the identifier must occur
CODE_EXT = (".py", ".sh", ".ipynb")
KIT_SHARED_BASENAMES = {"utils.py", "gemini.py"}  # also kit file names: official only with a directory
OFFICIAL_DIRS = ("data/", "eval/", "train/", "lm_eval/", "lm-evaluation-harness/")

# arXiv 2501.19393v3: sections, appendices, tables, figures and numbered equations.
PAPER_SECTIONS = {"1", "2", "2.1", "2.2", "3", "3.1", "3.2", "4", "4.1", "4.2", "5", "5.1", "5.2",
                  "6", "6.1", "6.2", "A", "B", "C", "C.1", "C.2", "C.3", "C.4", "C.5", "D", "D.1", "D.2",
                  "E", "E.1", "E.2", "F"}
PAPER_TABLES = range(1, 12)
PAPER_FIGURES = range(1, 10)
PAPER_EQUATIONS = range(1, 4)

PATH = r"[A-Za-z0-9_.{},/-]*[A-Za-z0-9_]\.(?:py|sh|ipynb|txt|json|yaml|yml)\b"
CITE = re.compile(
    rf"(?P<path>{PATH})(?::(?P<line>\d+)(?:-(?P<end>\d+))?|\s+cell\s+(?P<cell>\d+))"
    r"(?P<tail>`{0,2}[ \t]*\((?P<ident>[^()\n]+)\))?"
)
TOKEN = re.compile(rf"(?<![\w/.-])(?P<path>{PATH})")
OFFICIAL_NAME = re.compile(r"\bofficial\s+(?:[a-z]+\s+){0,2}\(?`{1,2}(?P<name>[A-Za-z_][A-Za-z0-9_.]*)`{1,2}")
# Names of the kind that were invented for the official code (loader/selection classes, a
# constants module): each must exist in the official files. A "59K log" does not exist there.
INVENTED_KIND = re.compile(r"\b(?P<name>[A-Z][A-Za-z0-9]*(?:Loader|Selection)|HFLoad|constants\.\w+)\b")
NO_SUCH_LOG = re.compile(r"59[Kk][ _.]log|official (?:59[Kk] )?log\b")
COMMIT = re.compile(r"@\s?`?(?P<sha>[0-9a-f]{7,40})\b")
COMMIT_CONTEXT = re.compile(r"simplescaling/s1\b|lm-evaluation-harness|lm_eval/|official")
PAPER_ID = re.compile(r"2501\.19393(?P<version>v\d)?")
PAPER_REFS = re.compile(
    r"§\s?(?P<sec>[A-F0-9](?:\.\d)?)|\bAppendix\s+(?P<app>[A-F](?:\.\d)?)|\bTables?\s+(?P<table>\d+)"
    r"|\bFigures?\s+(?P<fig>\d+)|\bEq(?:uation)?s?\.?\s*\(?(?P<eq>\d+)"
)


def _skip_without_official() -> None:
    if not (OFFICIAL / "MANIFEST.tsv").is_file():
        pytest.skip(f"the official s1 files are absent ({OFFICIAL}); citations are checked against them")


@cache
def official_files() -> dict[str, Path]:
    """Official repo paths (MANIFEST.tsv) -> local copies."""
    lines = (OFFICIAL / "MANIFEST.tsv").read_text().splitlines()[1:]
    return {line.split("\t")[0]: OFFICIAL / line.split("\t")[0] for line in lines if line.strip()}


@cache
def official_lines(path: str) -> list[str]:
    return official_files()[path].read_text(errors="replace").splitlines()


@cache
def notebook_cells(path: str) -> list[str]:
    return ["".join(cell["source"]) for cell in json.loads(official_files()[path].read_text())["cells"]]


@cache
def official_text() -> str:
    return "\n".join(p.read_text(errors="replace") for p in official_files().values())


def scanned_files() -> list[Path]:
    found = []
    for name in SCANNED:
        root = ROOT / name
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found += [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES
                      and "__pycache__" not in p.parts]
    return found


def resolve(path: str) -> tuple[str | None, str]:
    """The official path a cited/mentioned path means (None: not official code), and a problem."""
    files = official_files()
    if path in files:
        return path, ""
    base = path.rsplit("/", 1)[-1]
    suffix_of = [p for p in files if p.endswith("/" + path) or p == path]
    if "{" in path or "}" in path:
        official = any(path.startswith(d) or f"/{d}" in path for d in OFFICIAL_DIRS)
        return (path if official else None), "brace lists are not citations: cite each file as path:line (identifier)"
    if not suffix_of or (base in KIT_SHARED_BASENAMES and "/" not in path):
        if any(path.startswith(d) for d in OFFICIAL_DIRS[:3]) and path.endswith(CODE_EXT):
            return path, f"no such file in the official repo at {PINNED[:7]}"
        return None, ""
    if base in KIT_SHARED_BASENAMES and not any(d in path for d in OFFICIAL_DIRS):
        return None, ""  # e.g. aime/utils.py: the kit has a file of that name too
    if len(suffix_of) > 1:
        return suffix_of[0], f"ambiguous: write the path from the official repo root (one of {suffix_of})"
    return suffix_of[0], f"write the path from the official repo root: {suffix_of[0]}"


def check_citation(m: re.Match) -> str:
    """A problem with one `path:line (identifier)` / `path cell N (identifier)`, or ''."""
    official, problem = resolve(m["path"])
    if problem:
        return problem
    ident = m["ident"]
    if not ident:
        return "no (identifier) after the line: write path:line (identifier) on one line"
    ident = ident.strip().strip("`")
    if official.endswith(".ipynb"):
        if m["cell"] is None:
            return f"cite the notebook by cell: {official} cell N ({ident})"
        cells = notebook_cells(official)
        n = int(m["cell"])
        if n >= len(cells):
            return f"{official} has cells 0-{len(cells) - 1}, not {n}"
        return "" if ident in cells[n] else f"{ident!r} is not in {official} cell {n}"
    if m["cell"] is not None:
        return f"{official} is not a notebook: cite path:line"
    lines = official_lines(official)
    start = int(m["line"])
    end = int(m["end"] or start)
    if not 1 <= start <= end <= len(lines):
        return f"{official} has lines 1-{len(lines)}, not {start}-{end}"
    window = "\n".join(lines[max(0, start - 1 - WINDOW):end + WINDOW])
    return "" if ident in window else f"{ident!r} is not within {WINDOW} lines of {official}:{start}"


def whole_file_reference(line: str, m: re.Match, suffix: str) -> bool:
    """A file path used as a path (string literal, YAML key or list item), not prose."""
    before, after = line[:m.start()], line[m.end():]
    if before[-1:] in "'\"" and after[:1] == before[-1:]:
        return True
    return suffix in (".yaml", ".yml") and bool(
        re.fullmatch(r"\s*(?:-\s*)?", before) and re.match(r"\s*(?::|$|#)", after))


def line_problems(line: str, suffix: str) -> list[str]:
    problems, spans = [], []
    for m in CITE.finditer(line):
        official, _ = resolve(m["path"])
        if official is None:
            continue
        spans.append((m.start(), m.end()))
        problem = check_citation(m)
        if problem:
            problems.append(f"{m.group(0)!r}: {problem}")
    for m in TOKEN.finditer(line):
        if any(a <= m.start() < b for a, b in spans):
            continue
        official, problem = resolve(m["path"])
        if official is None or not official.endswith(CODE_EXT) or whole_file_reference(line, m, suffix):
            continue
        form = f"{official} cell N (identifier)" if official.endswith(".ipynb") else f"{official}:LINE (identifier)"
        problems.append(f"{m['path']!r}: official code named without a line; cite it as {form}")
    for m in OFFICIAL_NAME.finditer(line):
        name = m["name"]
        if not TOKEN.fullmatch(name) and name not in official_text():
            problems.append(f"official `{name}` does not exist in the official code at {PINNED[:7]}")
    for m in INVENTED_KIND.finditer(line):
        if m["name"] not in official_text():
            problems.append(f"{m['name']!r} does not exist in the official code at {PINNED[:7]}")
    if NO_SUCH_LOG.search(line):
        problems.append("there is no 59K log in the official repo: cite the paper's counts "
                        "(arXiv 2501.19393v3 Table 7) or the official code")
    problems += paper_problems(line)
    return problems


def paper_problems(line: str) -> list[str]:
    problems = []
    if "PAPER.md" in line:
        problems.append("cites PAPER.md (not part of the kit): cite arXiv 2501.19393v3 §N / Table N / "
                        "Figure N / Eq. N / Appendix X")
    ids = list(PAPER_ID.finditer(line))
    if not ids:
        return problems
    refs = list(PAPER_REFS.finditer(line[ids[0].start():]))
    if refs and any(m["version"] != "v3" for m in ids):
        problems.append("cite the paper's version with its numbering: arXiv 2501.19393v3")
    for r in refs:
        kind, value = next((k, v) for k, v in r.groupdict().items() if v is not None)
        ok = {"sec": value in PAPER_SECTIONS, "app": value in PAPER_SECTIONS and value[0].isalpha(),
              "table": int(value) in PAPER_TABLES if kind == "table" else True,
              "fig": int(value) in PAPER_FIGURES if kind == "fig" else True,
              "eq": int(value) in PAPER_EQUATIONS if kind == "eq" else True}[kind]
        if not ok:
            problems.append(f"{r.group(0)!r} does not exist in arXiv 2501.19393v3")
    return problems


def commit_problems(lines: list[str]) -> list[tuple[int, str]]:
    found = []
    for i, line in enumerate(lines):
        for m in COMMIT.finditer(line):
            context = "\n".join(lines[max(0, i - 2):i + 1])
            if not PINNED.startswith(m["sha"]) and COMMIT_CONTEXT.search(context):
                found.append((i + 1, f"@{m['sha']}: the official code is cited at the pinned commit "
                                     f"{PINNED[:7]} only (path:line (identifier) in ../shared/official-s1)"))
    return found


def all_problems() -> list[str]:
    problems = []
    for path in scanned_files():
        lines = path.read_text(errors="replace").splitlines()
        rel = path.relative_to(ROOT)
        for no, line in enumerate(lines, 1):
            problems += [f"{rel}:{no}: {p}" for p in line_problems(line, path.suffix)]
        problems += [f"{rel}:{no}: {p}" for no, p in commit_problems(lines)]
    return sorted(set(problems), key=lambda s: (s.split(":")[0], int(s.split(":")[1])))


def test_every_official_citation_resolves():
    """Walks the kit's text; the failure lists every bad citation as file:line: problem."""
    _skip_without_official()
    problems = all_problems()
    assert not problems, f"{len(problems)} citation problem(s):\n" + "\n".join(problems)


@pytest.mark.parametrize("line, bad", [
    ("see data/collect_data.py:387 (decontaminate_train_data)", False),
    ("see `data/collect_data.py:387 (decontaminate_train_data)`", False),
    ("data/filter.ipynb cell 17 (gpqa_domain)", False),
    ("data/collect_data.py:387 (no_such_name)", True),
    ("data/collect_data.py:99999 (decontaminate_train_data)", True),
    ("data/collect_data.py:387", True),
    ("collect_data.py:387 (decontaminate_train_data)", True),
    ("as collect_data.py does", True),
    ("the fork's lm_eval/models/vllm_causallms.py", True),
    ("data/filter.ipynb cell 99 (gpqa_domain)", True),
    ("data/filter.ipynb:3 (gpqa_domain)", True),
    ("the official `XWordLoader`", True),
    ("the official `decontaminate_train_data`", False),
    ("as in the official loader (`OpenAIMathLoader`)", True),
    ("the OmniMATHSelection, constants.TMP_QUESTIONS_TO_KEEP", True),
    ("the official 59K log counts 151", True),
    ("see PAPER.md step 4", True),
    ("arXiv 2501.19393v3 §2.2, Table 2, Appendix C.4, Eq. 2", False),
    ("arXiv 2501.19393v3 §7", True),
    ("arXiv 2501.19393 §2.2", True),
    ("kit file src/s1kit/evaluate/tasks/aime/utils.py and gemini.py", False),
    ('OFFICIAL / "data/collect_data.py"', False),
])
def test_checker_flags_what_it_should(line, bad):
    """The checker itself: good citations pass, invented or loose ones fail."""
    _skip_without_official()
    assert bool(line_problems(line, ".md")) is bad, line_problems(line, ".md")


def test_checker_flags_other_commits_and_yaml_file_lists():
    _skip_without_official()
    assert commit_problems(["# simplescaling/lm-evaluation-harness utils.py @3b87ded"])
    assert not commit_problems([f"# simplescaling/s1 @{PINNED[:7]}"])
    assert not line_problems("  data/collect_data.py: 7a8e3d7e72f5", ".yaml")
    assert line_problems("  # as data/collect_data.py does", ".yaml")
