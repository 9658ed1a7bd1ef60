"""The record every derived effect size travels in: estimate, variance, and how it was obtained."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ldn_evidence.distributions import norm_isf

#: Measure codes this package computes, spelled as in metafor's ``escalc``. Two-group
#: measures compare group 1 (LDN) with group 2 (comparator); the change measures compare two
#: occasions of one group. Every code is on a scale where 0 means "no difference" (differences,
#: or log ratios for ``ROM``, ``OR``, ``RR``, ``PETO``), so flipping a sign reverses direction.
ESCALC_MEASURES = ("MD", "SMD", "SMDH", "ROM", "OR", "RR", "RD", "PETO", "MC", "SMCC", "SMCR")
#: Every measure an effect row may carry: escalc's, plus the pre-post change standardized by
#: the pooled pre/post SD (SMCRP) and the logit of a single-arm proportion (PLO), which the
#: design functions compute (:mod:`ldn_evidence.effects.designs`).
MEASURES = (*ESCALC_MEASURES, "SMCRP", "PLO")


@dataclass(frozen=True, slots=True)
class EffectEstimate:
    """One effect size with its sampling variance and its provenance.

    Parameters
    ----------
    yi : float
        Effect size on the analysis scale (log scale for ratio measures).
    vi : float
        Sampling variance of ``yi``; ``nan`` when it cannot be derived.
    measure : str
        metafor measure code, one of :data:`MEASURES`.
    derivation : tuple of str
        The steps that produced the estimate, in order, e.g.
        ``("se_from_p_value", "crossover_paired_from_p_value")``.
    assumptions : tuple of str
        Every assumption the derivation needed, as a sentence a reader can check, e.g.
        ``("r = 0.5 (config)",)``. Empty when the estimate needed none.

    Examples
    --------
    >>> est = EffectEstimate(0.5, 0.04, "MD", ("md_from_ci",), ("95% CI, z-based",))
    >>> round(est.sei, 3)
    0.2
    >>> [round(x, 3) for x in est.ci()]
    [0.108, 0.892]
    """

    yi: float
    vi: float
    measure: str
    derivation: tuple[str, ...]
    assumptions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ValueError(f"measure must be one of {MEASURES}; got {self.measure!r}")
        for name in ("derivation", "assumptions"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a tuple of strings; got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if not self.derivation:
            raise ValueError("derivation must name at least one step")
        object.__setattr__(self, "yi", float(self.yi))
        object.__setattr__(self, "vi", float(self.vi))
        if self.vi < 0:
            raise ValueError(f"vi must be >= 0; got {self.vi}")

    @property
    def sei(self) -> float:
        """Standard error, ``sqrt(vi)``."""
        return math.sqrt(self.vi) if not math.isnan(self.vi) else math.nan

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """Wald confidence interval ``yi -/+ z * sei`` on the analysis scale."""
        z = norm_isf((1 - level) / 2)
        return (float(self.yi - z * self.sei), float(self.yi + z * self.sei))

    def with_step(
        self, step: str, *, yi: float | None = None, assumptions: tuple[str, ...] = ()
    ) -> EffectEstimate:
        """Return a copy with ``step`` appended to the derivation (and optionally a new ``yi``)."""
        return replace(
            self,
            yi=self.yi if yi is None else yi,
            derivation=(*self.derivation, step),
            assumptions=(*self.assumptions, *assumptions),
        )
