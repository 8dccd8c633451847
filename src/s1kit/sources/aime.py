"""AIME problems (qq8933/AIME_1983_2024) up to a cut-off year."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s1kit.sources.hub import HubInput, HubSource, Row, row
from s1kit.sources.rows import read_rows

REPO = "qq8933/AIME_1983_2024"
FILES = ("default/train/*.parquet",)
MAX_YEAR = 2022  # data/add_aime.py:8 (year <= 2022); it gives the published 890 problems


def year_of(x: Mapping[str, Any]) -> int | None:
    """The year from the ID ("1983-1", "2021-I-5") as data/add_aime.py:7 (split) reads it, else Year."""
    for value in (str(x.get("ID", "")).split("-")[0], x.get("Year")):
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


def _answer(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def load(paths: Mapping[str, Path], seed: int, max_year: int = MAX_YEAR) -> list[Row]:
    """Problems with year <= max_year (a row without a readable year is left out); unseeded."""
    out: list[Row] = []
    for x in read_rows(Path(paths["aime"]), FILES):
        year = year_of(x)
        if year is None or year > max_year:
            continue
        r = row(x.pop("Question", None), REPO, "math", _answer(x.pop("Answer", None)))
        r["metadata"] = x  # ID, Year, Problem Number, Part
        out.append(r)
    return out


SOURCE = HubSource(
    name="aime",
    inputs={"aime": HubInput(REPO, files=FILES, revision="refs/convert/parquet")},
    load=load,
    options={"max_year": MAX_YEAR},
    doc=(
        "AIME from `qq8933/AIME_1983_2024` (data/add_aime.py:8 (year <= 2022), added "
        "after collection): rows whose year (from `ID`) is <= `max_year`, question = `Question`, "
        "solution = `Answer` (as text), cot_type math. Cut-off: the paper says \"AIME 1983-2021\" "
        "(890, arXiv 2501.19393v3 Table 7), the official code keeps years <= 2022. The "
        "repo's CSV has 933 problems, of which 2024 (part II only, 14 rows) and 2023 (29 rows) are 43 "
        "and 2022 is 30, so <= 2022 gives 933 - 43 = 890, the paper's count "
        "(data/add_aime.py:34 (concatenate_datasets) appends AIME after collection, without "
        "decontamination or dedup), while <= 2021 gives 860. So the code is followed: `max_year` = "
        "2022 by default; the paper's \"1983-2021\" is a mislabel. Note the 2022 problems are also in "
        "AI-MO/aimo-validation-aime (the AIME24 eval set), so this pipeline's decontamination, which "
        "runs after loading, may drop them where the official one could not. The repo's file is a CSV; "
        "this reads the hub's parquet export (`refs/convert/parquet`, `default/train/NNNN.parquet`)."
    ),
)
