"""The claims registry: every number of the paper, where it comes from and how close is close.

``claims.yaml`` beside this file is the source of truth (its header documents the keys).
This module loads and validates it and resolves a claim's ``field`` inside a results file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from s1kit.paper.io import InputError, read_csv, read_json

KINDS = ("reproduced", "cited")
VERSION_LABELS = ("paper", "v1", "v3", "notebook")
# Digits the paper prints per unit; a reproduced value is rounded to these before comparing.
UNIT_DECIMALS = {"%": 1, "count": 0, "tokens": 0, "K tokens": 1, "M tokens": 1, "slope": 0,
                 "steps": 0, "minutes": 0, "GPU-hours": 0, "tries": 0}
REQUIRED = ("id", "table", "description", "paper_value", "unit", "kind")
REQUIRED_REPRODUCED = ("tolerance", "target", "field")
OPTIONAL = ("decimals", "scale", "tiny_target", "tiny_field", "note", "semantics")
# Whose evaluation semantics produced a claim's number: the fork's (the paper's, the default)
# or the kit's corrected one (a kit addition, beside the paper's number; docs/fidelity.md).
SEMANTICS = ("fork", "kit")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class ClaimError(ValueError):
    """The registry is malformed; the message names the claim id."""


class FieldError(InputError):
    """A claim's field is absent from (or ambiguous in) an existing results file."""


class RowNotFound(FieldError):
    """No CSV row matches a claim's selector: that item (a source, a method) was not produced."""


@dataclass(frozen=True)
class Claim:
    id: str
    table: str
    description: str
    versions: dict[str, float]  # label -> paper value; first is the headline value
    unit: str
    kind: str
    decimals: int
    tolerance: float | None = None
    tolerance_relative: bool = False  # tolerance given as "N%" of the paper value
    target: str | None = None
    field: str | None = None
    scale: float = 1.0
    tiny_target: str | None = None
    tiny_field: str | None = None
    note: str | None = None
    semantics: str = "fork"

    @property
    def paper_value(self) -> float:
        return next(iter(self.versions.values()))

    def allowed(self, paper_value: float) -> float:
        """Absolute tolerance when compared with ``paper_value``."""
        if self.tolerance is None:
            return 0.0
        return abs(paper_value) * self.tolerance / 100 if self.tolerance_relative else self.tolerance

    def tolerance_text(self) -> str:
        if self.tolerance is None:
            return ""
        return f"{_fmt(self.tolerance)}%" if self.tolerance_relative else _fmt(self.tolerance)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _number(value: Any, cid: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ClaimError(f"claim {cid}: {key} must be a finite number, got {value!r}")
    return float(value)


def _versions(raw: Any, cid: str) -> dict[str, float]:
    if isinstance(raw, dict):
        if not raw:
            raise ClaimError(f"claim {cid}: paper_value mapping is empty")
        bad = [k for k in raw if k not in VERSION_LABELS]
        if bad:
            raise ClaimError(f"claim {cid}: unknown paper_value label(s) {bad}; use {list(VERSION_LABELS)}")
        return {str(k): _number(v, cid, f"paper_value.{k}") for k, v in raw.items()}
    return {"paper": _number(raw, cid, "paper_value")}


def _tolerance(raw: Any, cid: str) -> tuple[float | None, bool]:
    if raw is None:
        return None, False
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            value = float(raw.strip()[:-1])
        except ValueError:
            raise ClaimError(f"claim {cid}: tolerance {raw!r} is not 'N%'") from None
        relative = True
    else:
        value, relative = _number(raw, cid, "tolerance"), False
    if value < 0:
        raise ClaimError(f"claim {cid}: tolerance must be >= 0, got {raw!r}")
    return value, relative


def _scale(raw: Any, cid: str) -> float:
    if raw is None:
        return 1.0
    if isinstance(raw, str):  # "1/60" reads better than 0.016666666666666666
        try:
            return float(Fraction(raw.replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise ClaimError(f"claim {cid}: scale {raw!r} is not a number or a fraction like 1/60") from None
    return _number(raw, cid, "scale")


def parse_claim(raw: Any, index: int) -> Claim:
    """Build one :class:`Claim` from its YAML mapping, checking keys and types."""
    if not isinstance(raw, dict):
        raise ClaimError(f"claim #{index}: expected a mapping, got {type(raw).__name__}")
    cid = str(raw.get("id", f"#{index}"))
    missing = [k for k in REQUIRED if raw.get(k) in (None, "")]
    if missing:
        raise ClaimError(f"claim {cid}: missing required key(s) {missing}")
    if not ID_RE.match(cid):
        raise ClaimError(f"claim {cid}: id must be letters, digits and _.+- (no spaces)")
    unknown = sorted(set(raw) - set(REQUIRED) - set(REQUIRED_REPRODUCED) - set(OPTIONAL))
    if unknown:
        raise ClaimError(f"claim {cid}: unknown key(s) {unknown}")
    kind = raw["kind"]
    if kind not in KINDS:
        raise ClaimError(f"claim {cid}: kind must be one of {list(KINDS)}, got {kind!r}")
    if kind == "reproduced":
        missing = [k for k in REQUIRED_REPRODUCED if raw.get(k) in (None, "")]
        if missing:
            raise ClaimError(f"claim {cid}: a reproduced claim needs {missing}")
    for a, b in (("target", "field"), ("tiny_target", "tiny_field")):
        if bool(raw.get(a)) != bool(raw.get(b)):
            raise ClaimError(f"claim {cid}: {a} and {b} go together")
    for key in ("target", "tiny_target"):
        if raw.get(key) and not str(raw[key]).startswith("results/"):
            raise ClaimError(f"claim {cid}: {key} must be a path under results/, got {raw[key]!r}")
    semantics = raw.get("semantics", "fork")
    if semantics not in SEMANTICS:
        raise ClaimError(f"claim {cid}: semantics must be one of {list(SEMANTICS)}, got {semantics!r}")
    unit = str(raw["unit"])
    decimals = raw.get("decimals", UNIT_DECIMALS.get(unit))
    if not isinstance(decimals, int) or isinstance(decimals, bool) or decimals < 0:
        raise ClaimError(f"claim {cid}: unit {unit!r} has no default decimals; set decimals (int >= 0)")
    tolerance, relative = _tolerance(raw.get("tolerance"), cid)
    for t, f in (("target", "field"), ("tiny_target", "tiny_field")):
        if raw.get(t) and str(raw[t]).endswith(".csv"):
            try:
                parse_csv_field(str(raw[f]))
            except ValueError as e:
                raise ClaimError(f"claim {cid}: {f}: {e}") from None
    return Claim(
        id=cid, table=str(raw["table"]), description=str(raw["description"]),
        versions=_versions(raw["paper_value"], cid), unit=unit, kind=kind, decimals=decimals,
        tolerance=tolerance, tolerance_relative=relative,
        target=raw.get("target"), field=raw.get("field"), scale=_scale(raw.get("scale"), cid),
        tiny_target=raw.get("tiny_target"), tiny_field=raw.get("tiny_field"), note=raw.get("note"),
        semantics=semantics,
    )


def default_registry() -> Path:
    """Path of the packaged ``claims.yaml``."""
    return Path(str(resources.files("s1kit.paper").joinpath("claims.yaml")))


def load_claims(path: str | Path | None = None) -> list[Claim]:
    """Load and validate the registry (default: the packaged ``claims.yaml``)."""
    path = Path(path) if path else default_registry()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ClaimError(f"{path}: cannot load claims registry ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ClaimError(f"{path}: expected a mapping with a 'claims' list")
    claims = [parse_claim(raw, i) for i, raw in enumerate(data["claims"], 1)]
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            raise ClaimError(f"claim {c.id}: duplicate id in {path}")
        seen.add(c.id)
    return claims


# ---- resolving a field inside a results file ---------------------------------------------


def _json_field(data: dict[str, Any], field: str, path: Path) -> Any:
    node: Any = data
    for key in field.split("."):
        if not isinstance(node, dict) or key not in node:
            raise FieldError(f"{path}: no key {field!r} (missing {key!r})")
        node = node[key]
    return node


Selector = tuple[str, str, str]  # (column, "=" or "~", value or regex)


def parse_csv_field(field: str) -> tuple[list[Selector], str]:
    """``col=v&col~rx:column`` -> ([(col, op, v), ...], column); ValueError if malformed."""
    selectors, sep, column = field.rpartition(":")
    if not sep or not selectors or not column:
        raise ValueError(f"CSV field {field!r} needs 'selector[&selector...]:column'")
    parsed = []
    for selector in selectors.split("&"):
        m = re.match(r"^([^=~]+)([=~])(.*)$", selector)
        if not m:
            raise ValueError(f"bad row selector {selector!r}; use col=value or col~regex")
        col, op, value = m.group(1).strip(), m.group(2), m.group(3)
        if op == "~":
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"bad regex in {selector!r} ({e})") from None
        parsed.append((col, op, value))
    return parsed, column


def _row_mask(df: Any, selector: Selector, path: Path) -> Any:
    col, op, value = selector
    if col not in df.columns:
        raise FieldError(f"{path}: no column {col!r} (has {list(df.columns)})")
    text = df[col].astype(str).str.strip()
    if op == "=":
        return text == value.strip()
    rx = re.compile(value, re.IGNORECASE)
    return text.map(lambda s: rx.search(s) is not None)


def _csv_field(path: Path, field: str) -> Any:
    try:
        parsed, column = parse_csv_field(field)
    except ValueError as e:
        raise FieldError(f"{path}: {e}") from None
    selectors = field.rpartition(":")[0]
    df = read_csv(path, required=[column])
    mask = None
    for selector in parsed:
        m = _row_mask(df, selector, path)
        mask = m if mask is None else mask & m
    rows = df[mask]
    if rows.empty:
        raise RowNotFound(f"{path}: no row matches {selectors!r}")
    if len(rows) > 1:
        raise FieldError(f"{path}: {len(rows)} rows match {selectors!r} (field {field!r}); make the selector unique")
    return rows[column].iloc[0]


def resolve_field(path: str | Path, field: str, scale: float = 1.0) -> float:
    """The number at ``field`` in ``path`` (JSON key path or CSV ``sel&sel:column``), times ``scale``."""
    path = Path(path)
    raw = _csv_field(path, field) if path.suffix == ".csv" else _json_field(read_json(path), field, path)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FieldError(f"{path}: field {field!r} is not a number: {raw!r}") from None
    if not math.isfinite(value):
        raise FieldError(f"{path}: field {field!r} is not finite: {raw!r}")
    return value * scale
