"""Units for continuous codes: which measurable property each code drives, and a monotone map
between the code's value and that property, so users can ask for a 20° slant and read one back.

Calibration renders fixed draws of noise and codes while one continuous code moves over a grid,
measures every property of the images (``infogan.properties``), ranks the code-property pairs
by Spearman's correlation, and fits an isotonic regression from the code's value to the
property's median over the draws. The fitted knots are stored in the checkpoint's metadata.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from infogan import properties
from infogan.errors import InfoGANError
from infogan.latent import LatentBatch

if TYPE_CHECKING:
    from infogan.model import InfoGAN

MIN_CORRELATION = 0.3  # a code whose best property correlates more weakly gets no unit


@dataclass(frozen=True)
class UnitMap:
    """A monotone map between a continuous code and the median of a property it drives.

    Args:
        rho: Spearman's correlation between the code and the property along fixed draws.
        code_knots: increasing code values.
        value_knots: the fitted property median at each, monotone in the direction of ``rho``.
    """

    code: str
    property: str
    unit: str
    rho: float
    code_knots: tuple[float, ...]
    value_knots: tuple[float, ...]

    def __post_init__(self) -> None:
        codes, values = np.asarray(self.code_knots), np.asarray(self.value_knots)
        if len(codes) < 2 or codes.shape != values.shape or not np.isfinite([*codes, *values]).all():
            raise InfoGANError(f"the calibration of {self.code} needs two or more finite knots of each kind")
        steps = np.diff(values) * (1.0 if self.rho >= 0 else -1.0)
        if (np.diff(codes) <= 0).any() or (steps < 0).any():
            raise InfoGANError(f"the calibration of {self.code} is not a monotone map")

    @property
    def column(self) -> str:
        """The property's name with its unit, e.g. ``slant_deg``."""
        return f"{self.property}_{self.unit}"

    @property
    def reach(self) -> tuple[float, float]:
        """The lowest and highest property values the code reaches over its calibrated range."""
        return float(min(self.value_knots)), float(max(self.value_knots))

    def to_value(self, code_values: np.ndarray | float) -> np.ndarray:
        """The property, in its unit, at code values (clamped to the calibrated range)."""
        return np.interp(np.asarray(code_values, dtype=np.float64), self.code_knots, self.value_knots)

    def to_code(self, value: float) -> float:
        """The code value whose images have median property ``value``; an error outside the reach."""
        low, high = self.reach
        if not np.isfinite(value) or not low <= value <= high:
            raise InfoGANError(
                f"{self.property}={value:g} {self.unit} is out of reach: {self.code} spans {low:.4g}..{high:.4g} "
                f"{self.unit} over its calibrated range"
            )
        codes = np.asarray(self.code_knots)
        direction = 1.0 if self.rho >= 0 else -1.0
        values, target = direction * np.asarray(self.value_knots), direction * value  # now non-decreasing
        level = codes[values == target]
        if level.size:  # a knot's value; a flat stretch of the fit maps back to its middle
            return float(level.mean())
        i = int(np.searchsorted(values, target))  # values[i - 1] < target < values[i]
        share = (target - values[i - 1]) / (values[i] - values[i - 1])
        return float(codes[i - 1] + share * (codes[i] - codes[i - 1]))

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the checkpoint's metadata."""
        return {
            "property": self.property,
            "unit": self.unit,
            "rho": self.rho,
            "code": list(self.code_knots),
            "value": list(self.value_knots),
        }

    @classmethod
    def from_dict(cls, code: str, data: Mapping[str, Any]) -> UnitMap:
        """Inverse of :meth:`as_dict`, with a one-line error for a damaged entry."""
        try:
            return cls(
                code,
                str(data["property"]),
                str(data["unit"]),
                float(data["rho"]),
                tuple(float(v) for v in data["code"]),
                tuple(float(v) for v in data["value"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InfoGANError(f"the stored calibration of {code} is damaged ({type(err).__name__}: {err})") from None


def maps_from_metadata(data: Mapping[str, Any], continuous: Sequence[str]) -> dict[str, UnitMap]:
    """The unit maps stored in a checkpoint, checked against the model's continuous codes."""
    unknown = set(data) - set(continuous)
    if unknown:
        raise InfoGANError(f"the stored calibration names {sorted(unknown)[0]}, not a continuous code of this model")
    return {code: UnitMap.from_dict(code, entry) for code, entry in data.items()}


def codes_for_units(maps: Mapping[str, UnitMap], units: Mapping[str, float]) -> dict[str, float]:
    """Code values for requests in units, e.g. ``{"slant": 20}`` -> ``{"c3": 0.41}``."""
    by_property = {m.property: m for m in maps.values()} | {m.column: m for m in maps.values()}
    codes: dict[str, float] = {}
    for name, value in units.items():
        if name not in by_property:
            known = ", ".join(f"{m.property} ({m.code})" for m in maps.values()) or "none: run infogan calibrate"
            raise InfoGANError(f"no code of this model is calibrated in {name!r}; calibrated: {known}")
        unit_map = by_property[name]
        codes[unit_map.code] = unit_map.to_code(float(value))
    return codes


# ----- calibrating --------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found: the correlation table, the medians and the fitted maps."""

    grid: np.ndarray  # (steps,) code values
    correlation: dict[str, dict[str, float]]  # code -> property column -> ρ
    medians: dict[str, dict[str, list[float]]]  # code -> property column -> median at each grid value
    maps: dict[str, UnitMap]

    def table(self) -> str:
        """The correlation table as aligned text, the chosen property of each code starred."""
        columns = list(next(iter(self.correlation.values())))
        width = max(len(c) for c in columns) + 2
        lines = ["code" + "".join(f"{c:>{width}}" for c in columns)]
        for code, row in self.correlation.items():
            chosen = self.maps[code].column if code in self.maps else None
            cells = "".join(f"{f'{rho:+.2f}' + ('*' if col == chosen else ' '):>{width}}" for col, rho in row.items())
            lines.append(f"{code:<4}" + cells)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON form of the whole calibration, for a report file."""
        return {
            "grid": self.grid.tolist(),
            "correlation": self.correlation,
            "medians": self.medians,
            "maps": {code: m.as_dict() for code, m in self.maps.items()},
        }


def measure(images: np.ndarray, props: Sequence[properties.Property]) -> dict[str, np.ndarray]:
    """Each property's values (N,) for images (N, C, H, W)."""
    return {p.column: p.measure(images) for p in props}


def _traversal_measures(model: InfoGAN, code: str, grid: np.ndarray, draws: int, seed: int, props) -> dict:
    """Per property, values (steps, draws): fixed draws of everything else while ``code`` moves."""
    base = model.sample_latents(draws, seed=seed)
    batches = [model.spec.with_codes(base, {code: float(v)}) for v in grid]
    images = model.render(LatentBatch.concat(batches)).cpu().numpy()
    return {col: values.reshape(len(grid), draws) for col, values in measure(images, props).items()}


def _median(values: np.ndarray) -> np.ndarray:
    """The median over draws (steps,), NaN where no draw could be measured."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        return np.nanmedian(values, axis=1)


def _correlation(grid: np.ndarray, values: np.ndarray) -> float:
    """Mean over draws of Spearman's ρ between the code and the property along that draw."""
    from scipy.stats import ConstantInputWarning, spearmanr  # here: loading a model need not pay for scipy.stats

    rhos = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        for column in values.T:
            keep = np.isfinite(column)
            if keep.sum() >= 3:
                rhos.append(spearmanr(grid[keep], column[keep]).statistic)
    rhos = [r for r in rhos if np.isfinite(r)]
    return float(np.mean(rhos)) if rhos else 0.0


def fit_map(code: str, prop: properties.Property, grid: np.ndarray, medians: np.ndarray, rho: float) -> UnitMap:
    """Isotonic regression of the property's medians on the code, increasing when ρ >= 0."""
    from sklearn.isotonic import IsotonicRegression  # here: loading a model need not pay for sklearn

    keep = np.isfinite(medians)
    if keep.sum() < 2:
        raise InfoGANError(f"{prop.name} could not be measured on {code}'s images (blank images?)")
    rho = round(rho, 6)  # as stored; its sign is the map's direction
    fitted = IsotonicRegression(increasing=rho >= 0).fit(grid[keep], medians[keep]).predict(grid[keep])
    return UnitMap(code, prop.name, prop.unit, rho, tuple(grid[keep].tolist()), tuple(fitted.tolist()))


def _choose(correlation, candidates: Sequence[str], fixed: Mapping[str, str], min_rho: float) -> dict[str, str]:
    """Code -> property column: the fixed ones, then the rest matched one to one by |ρ| (Kuhn-Munkres)."""
    from scipy.optimize import linear_sum_assignment

    free_codes = [c for c in correlation if c not in fixed]
    free_props = [p for p in candidates if p not in fixed.values()]
    chosen = dict(fixed)
    if free_codes and free_props:
        strength = np.array([[abs(correlation[c][p]) for p in free_props] for c in free_codes])
        for i, j in zip(*linear_sum_assignment(strength, maximize=True), strict=True):
            if strength[i, j] >= min_rho:
                chosen[free_codes[i]] = free_props[j]
    return chosen


def calibrate(
    model: InfoGAN,
    *,
    span: tuple[float, float] = (-2.0, 2.0),
    steps: int = 9,
    draws: int = 64,
    seed: int = 0,
    candidates: Sequence[str] | None = None,
    fixed: Mapping[str, str] | None = None,
    min_rho: float = MIN_CORRELATION,
) -> Calibration:
    """Measure every property while each continuous code moves, and fit each code's unit map.

    Args:
        span, steps: the grid of code values (the explorer's sliders span -2..2).
        draws: fixed draws of noise and the other codes, shared by every grid value.
        candidates: properties a code may be given (default: all for the image's channels).
        fixed: code -> property chosen by the user, e.g. ``{"c2": "thickness"}``.
        min_rho: codes whose best free property correlates more weakly get no unit.
    """
    codes = [c.name for c in model.spec.codes if c.kind == "continuous"]
    if not codes:
        raise InfoGANError("this model has no continuous code to calibrate")
    if steps < 3 or draws < 1 or not span[0] < span[1]:
        raise InfoGANError("calibration needs at least 3 steps, 1 draw and a span LOW < HIGH")
    props = properties.for_channels(model.image_shape[0])
    allowed = {p.column: p for p in props}
    candidate_columns = [_column(name, allowed) for name in candidates] if candidates else list(allowed)
    fixed_columns = {model.spec.code(c).name: _column(p, allowed) for c, p in (fixed or {}).items()}
    if set(fixed_columns) - set(codes):
        raise InfoGANError(f"only continuous codes take units: {', '.join(codes)}")
    grid = np.linspace(*span, steps)
    measured = {code: _traversal_measures(model, code, grid, draws, seed, props) for code in codes}
    correlation = {c: {col: round(_correlation(grid, v), 4) for col, v in m.items()} for c, m in measured.items()}
    medians = {c: {col: _median(v) for col, v in m.items()} for c, m in measured.items()}
    chosen = _choose(correlation, candidate_columns, fixed_columns, min_rho)
    maps = {c: fit_map(c, allowed[col], grid, medians[c][col], correlation[c][col]) for c, col in chosen.items()}
    medians_json = {c: {col: [round(float(x), 4) for x in v] for col, v in m.items()} for c, m in medians.items()}
    return Calibration(grid, correlation, medians_json, {c: maps[c] for c in codes if c in maps})


def _column(name: str, allowed: Mapping[str, properties.Property]) -> str:
    prop = properties.get(name)
    if prop.column not in allowed:
        raise InfoGANError(f"{prop.name} does not apply to these images; these do: {', '.join(allowed)}")
    return prop.column
