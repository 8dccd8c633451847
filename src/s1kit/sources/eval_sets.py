"""The eval sets the paper decontaminates against, as hub sources of kind "eval".

Each maps a row to the question text the official decontamination compared (its
``load_generic(name, question_field=...)``): the problem as the hub gives it, no template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, column_loader, map_columns
from s1kit.sources.rows import read_rows
from s1kit.sources.livecodebench import iter_jsonl, release_files


# --------------------------------------------------------------------------- AIME24

AIME24_REPO = "AI-MO/aimo-validation-aime"
AIME24_FILES = ("data/train-*.parquet",)
_YEAR = re.compile(r"(19|20)\d\d")


def _url_year(url: Any) -> int | None:
    m = _YEAR.search(url) if isinstance(url, str) else None
    return int(m.group(0)) if m else None


def load_aime24(paths: Mapping[str, Path], seed: int, years: Iterable[int] | None = None) -> list[Row]:
    """All 90 problems (AIME 2022-2024), or those of `years` (read from the AoPS url)."""
    rows = read_rows(Path(paths["aime24"]), AIME24_FILES)
    if years is not None:
        keep = {int(y) for y in years}
        rows = [x for x in rows if _url_year(x.get("url")) in keep]
    return map_columns(rows, "problem", AIME24_REPO, "math", "solution")


AIME24 = HubSource(
    name="aime24",
    kind="eval",
    inputs={"aime24": HubInput(AIME24_REPO, files=AIME24_FILES)},
    load=load_aime24,
    options={"years": None},
    doc=(
        "AIME24 for decontamination, as the paper says: `AI-MO/aimo-validation-aime` (train split), question = "
        "`problem`. The official code compares against the whole split, i.e. all 90 problems of AIME 2022, "
        "2023 and 2024, not only the 30 of 2024; kept (option `years`, default None = all; e.g. [2024] for "
        "the 30 evaluated problems, year read from `url`). Evaluation itself uses "
        "`simplescaling/aime24_nofigures`."
    ),
)

# --------------------------------------------------------------------------- AIME25

AIME25_REPO = "simplescaling/aime25_nofigures"
AIME25_FILES = ("*.jsonl",)


AIME25 = HubSource(
    name="aime25",
    kind="eval",
    inputs={"aime25": HubInput(AIME25_REPO, files=AIME25_FILES)},
    load=column_loader("aime25", AIME25_FILES, "problem", AIME25_REPO, "math", "solution"),
    doc=(
        "AIME25 (added in the paper's v3, evaluation only; the official collection did not decontaminate "
        "against it): `simplescaling/aime25_nofigures`, the set the evaluation tasks read, question = "
        "`problem` (assumed columns as its aime24 sibling: a jsonl with problem, solution, answer, ...)."
    ),
)

# --------------------------------------------------------------------------- MATH500

MATH500_REPO = "simplescaling/openaimath"
MATH500_FILES = ("test.jsonl",)


MATH500 = HubSource(
    name="math500",
    kind="eval",
    inputs={"math500": HubInput(MATH500_REPO, files=MATH500_FILES)},
    load=column_loader("math500", MATH500_FILES, "problem", MATH500_REPO, "math", "solution"),
    doc=(
        "MATH500 as the official code decontaminates against it: the test split of `qfq/openaimath`, now "
        "`simplescaling/openaimath` (`test.jsonl`, the 500 PRM800K test problems the evaluation also uses), "
        "question = `problem`. HuggingFaceH4/MATH-500 holds the same 500 problems; the official repo is "
        "used so that the text compared is the official one."
    ),
)

# --------------------------------------------------------------------------- GPQA Diamond

GPQA_REPO = "Idavidrein/gpqa"
GPQA_FILES = ("gpqa_diamond/train/*.parquet",)


GPQA_DIAMOND = HubSource(
    name="gpqa_diamond",
    kind="eval",
    inputs={"gpqa_diamond": HubInput(GPQA_REPO, files=GPQA_FILES, revision="refs/convert/parquet")},
    load=column_loader("gpqa_diamond", GPQA_FILES, "Question", GPQA_REPO, "science"),
    doc=(
        "GPQA Diamond (198): `Idavidrein/gpqa` config gpqa_diamond, train split, question = `Question` alone "
        "(the official comparison used the bare question, without answer choices). The repo holds CSV files; "
        "this reads the hub's parquet export (`refs/convert/parquet`, `gpqa_diamond/train/NNNN.parquet`)."
    ),
)

# --------------------------------------------------------------------------- LiveCodeBench release_v4

LCB_REPO = "livecodebench/code_generation_lite"
LCB_V4_FILES = tuple(release_files("release_v4"))  # the loading script's release_v4: test.jsonl .. test4.jsonl


def load_livecodebench_v4(paths: Mapping[str, Path], seed: int) -> list[Row]:
    root = Path(paths["livecodebench_v4"])
    rows = [x for name in LCB_V4_FILES for x in iter_jsonl(root / name)]
    return map_columns(rows, "question_content", "LiveCodeBench/release_v4", "coding")


LIVECODEBENCH_V4 = HubSource(
    name="livecodebench_v4",
    kind="eval",
    inputs={"livecodebench_v4": HubInput(LCB_REPO, files=LCB_V4_FILES)},
    load=load_livecodebench_v4,
    doc=(
        "LiveCodeBench `release_v4` (713 problems, every difficulty), one of the four official test sets "
        "(data/collect_data.py:449 (release_v4)), question = `question_content` as given (not stripped, as "
        "the official comparison). The dataset is a loading script; release_v4 is its files `test.jsonl` ... "
        "`test4.jsonl` (cumulative), read directly, so it holds every training problem of release_v1-v3. "
        "`private_test_cases` is dropped from metadata."
    ),
)

# --------------------------------------------------------------------------- AIME24 (evaluation)

AIME24_NOFIGURES_REPO = "simplescaling/aime24_nofigures"
AIME24_NOFIGURES_FILES = ("*.jsonl", "data/*.parquet")


AIME24_NOFIGURES = HubSource(
    name="aime24_nofigures",
    kind="eval",
    inputs={"aime24_nofigures": HubInput(AIME24_NOFIGURES_REPO, files=AIME24_NOFIGURES_FILES)},
    load=column_loader("aime24_nofigures", AIME24_NOFIGURES_FILES, "problem", AIME24_NOFIGURES_REPO, "math",
                       "solution"),
    doc=(
        "The 30 AIME 2024 problems s1 evaluates on (figures described in text): "
        "`simplescaling/aime24_nofigures`, question = `problem`, answer = `answer` (a zero-padded string) in "
        "metadata. Evaluation data, and decontaminated against like every eval set."
    ),
)


# --------------------------------------------------------------------------- AIME24 with figures

AIME24_FIGURES_REPO = "simplescaling/aime24_figures"


AIME24_FIGURES = HubSource(
    name="aime24_figures",
    kind="eval",
    inputs={"aime24_figures": HubInput(AIME24_FIGURES_REPO, files=AIME24_NOFIGURES_FILES)},
    load=column_loader("aime24_figures", AIME24_NOFIGURES_FILES, "problem", AIME24_FIGURES_REPO, "math",
                       "solution"),
    doc=(
        "The same 30 AIME 2024 problems with their figures as the fork's task reads them: "
        "`simplescaling/aime24_figures` (columns as its nofigures sibling). No claim reads its "
        "score; every official command runs it in the same lm-eval run as aime24_nofigures "
        "(eval/commands.sh:25 (--tasks)), so under fork semantics its prompts share the batch "
        "(config evaluate.batches)."
    ),
)
