"""s1-prob (simplescaling/s1-prob): the paper's 182 PhD-qualifying-exam probability questions."""

from __future__ import annotations

from s1kit.sources.hub import HubInput, HubSource, column_loader

REPO = "simplescaling/s1-prob"
FILES = ("data/train-*.parquet",)
# The published 59K pool (simplescaling/data_ablation_full59K) and s1K name this source by its
# original repository, qfq/stats_qual; kept so source_type matches the released data.
SOURCE_TYPE = "qfq/stats_qual"

# Every row: question, solution; the other columns as metadata.
load = column_loader("s1_prob", FILES, "question", SOURCE_TYPE, "math", "solution")


SOURCE = HubSource(
    name="s1_prob",
    inputs={"s1_prob": HubInput(REPO, files=FILES)},
    load=load,
    doc=(
        "s1-prob from `simplescaling/s1-prob` (train split, "
        "data/collect_data.py:238 (load_statsqual)): every row, question/solution as given, "
        "cot_type math. source_type is `qfq/stats_qual`, the name the published 59K pool and s1K use "
        "(the dataset was renamed on the hub). Paper: 182 (arXiv 2501.19393v3 Table 7); "
        "no filter, so the raw count is the paper's."
    ),
)
