"""Priors on the between-study SD tau for :func:`ldn_evidence.meta.bayes.bayes_pool`.

Every prior is a density on tau >= 0, with its CDF and quantile function, so that the posterior
can be integrated on a grid in ``u = log(tau)`` and the mass below the grid added exactly.

Families
--------
``halfnormal``
    Half-normal with scale ``s``: ``p(tau) = 2 / s * phi(tau / s)``.
``halfcauchy``
    Half-Cauchy with scale ``s``: ``p(tau) = 2 / (pi s (1 + (tau/s)^2))`` (Gelman 2006).
``uniform``
    Improper uniform on tau >= 0 (density 1). The posterior is proper only if enough studies
    carry information (see :func:`ldn_evidence.meta.bayes.bayes_pool`).
``turner``
    The empirical log-normal prior of Turner et al. (2015), *Statistics in Medicine*
    34(6):984-998, Table IV: ``log(tau^2) ~ N(m, s^2)`` for log odds ratios, by outcome type and
    type of comparison; the "any" setting is the marginal ``N(-2.56, 1.74^2)`` (Sec. 4).
``rhodes``
    The empirical log-t prior of Rhodes et al. (2015), *Journal of Clinical Epidemiology*
    68(1):52-60, Table 3 (and Tables A.3.1, A.3.2 for respiratory and cancer meta-analyses):
    ``log(tau^2) ~ t_5(location, scale)`` for standardized mean differences; the "any" setting is
    the marginal ``t_5(-3.44, 2.59)`` (Sec. 3.3).

Both empirical priors are stated for ``tau^2``. If ``log(tau^2) = X`` then ``log(tau) = X / 2``,
so a prior ``N(m, s^2)`` on ``log(tau^2)`` is ``N(m / 2, (s / 2)^2)`` on ``log(tau)``, and the
density on tau is ``p(tau) = f((log(tau) - m/2) / (s/2)) / ((s/2) tau)`` with ``f`` the standard
normal (or t_5) density.

The tables below are transcribed as data; they are the values that R's bayesmeta 3.4
(Röver 2020, J Stat Softw 93(6)) ships as ``TurnerEtAlParameters`` and ``RhodesEtAlParameters``,
which cite the same tables. Two locations of the Rhodes tables do not follow the additive
structure of the rest (in every other row the pharmacological vs. pharmacological column lies
0.27-0.28 below, and the non-pharmacological column 0.14 above, the pharmacological vs. placebo
column): Table 3, mental health, non-pharmacological: -3.85 (the structure gives -2.85), and
Table A.3.2, internal/external structure-related, pharmacological vs. placebo: -0.13 (+0.13).
They are kept as shipped and flagged in the notes of any analysis that uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ldn_evidence import distributions

__all__ = [
    "RHODES_COMPARISONS",
    "RHODES_LOCATION",
    "RHODES_OUTCOMES",
    "RHODES_SCALE",
    "TURNER_COMPARISONS",
    "TURNER_MEAN",
    "TURNER_OUTCOMES",
    "TURNER_SD",
    "TauPrior",
    "make_tau_prior",
]

#: Outcome types of Turner et al. (2015), Table IV, in the order of the table.
TURNER_OUTCOMES: tuple[str, ...] = (
    "all_cause_mortality",
    "obstetric",
    "cause_specific_mortality",  # cause-specific mortality / major morbidity event / composite
    "resource_use",  # resource use / hospital stay / process
    "surgical_device",  # surgical / device related success / failure
    "withdrawals",  # withdrawals / drop-outs
    "internal_structure",  # internal / structure-related outcomes
    "general_physical_health",  # general physical health indicators
    "adverse_events",
    "infection_onset",  # infection / onset of new disease
    "signs_symptoms",  # signs / symptoms reflecting continuation / end of condition
    "pain",
    "quality_of_life",  # quality of life / functioning (dichotomized)
    "mental_health",  # mental health indicators
    "biological_markers",  # biological markers (dichotomized)
    "subjective",  # subjective outcomes (various)
)

#: Types of comparison of Turner et al. (2015), Table IV, in the order of the table.
TURNER_COMPARISONS: tuple[str, ...] = (
    "pharma_vs_placebo",  # pharmacological vs. placebo / control
    "pharma_vs_pharma",  # pharmacological vs. pharmacological
    "nonpharma_vs_placebo",  # non-pharmacological vs. placebo / control
    "nonpharma_vs_pharma",  # non-pharmacological vs. pharmacological
    "nonpharma_vs_nonpharma",  # non-pharmacological vs. non-pharmacological
)

# mean of log(tau^2): rows = outcome (TURNER_OUTCOMES), columns = comparison
TURNER_MEAN = np.array(
    [
        [-3.95, -4.18, -4.17, -2.92, -3.50],
        [-3.52, -3.75, -3.74, -2.49, -3.08],
        [-3.71, -3.95, -3.93, -2.68, -3.27],
        [-2.34, -2.58, -2.56, -1.31, -1.90],
        [-2.14, -2.37, -2.36, -1.11, -1.69],
        [-2.99, -3.23, -3.21, -1.96, -2.55],
        [-2.71, -2.94, -2.93, -1.67, -2.26],
        [-2.29, -2.53, -2.51, -1.26, -1.85],
        [-1.87, -2.10, -2.10, -0.84, -1.43],
        [-2.49, -2.73, -2.71, -1.46, -2.05],
        [-2.06, -2.29, -2.28, -1.03, -1.61],
        [-1.83, -2.06, -2.05, -0.80, -1.38],
        [-2.54, -2.78, -2.77, -1.51, -2.10],
        [-2.12, -2.35, -2.34, -1.09, -1.67],
        [-1.77, -2.00, -1.99, -0.74, -1.33],
        [-2.70, -2.93, -2.92, -1.67, -2.26],
    ]
)
TURNER_MEAN.setflags(write=False)

# standard deviation of log(tau^2), same layout
TURNER_SD = np.array(
    [
        [1.34, 1.41, 1.55, 1.02, 1.26],
        [1.74, 1.79, 1.91, 1.50, 1.68],
        [1.74, 1.79, 1.91, 1.51, 1.68],
        [1.74, 1.79, 1.91, 1.50, 1.68],
        [1.74, 1.79, 1.91, 1.50, 1.68],
        [1.74, 1.79, 1.91, 1.51, 1.68],
        [1.74, 1.79, 1.92, 1.51, 1.68],
        [1.53, 1.58, 1.72, 1.25, 1.46],
        [1.52, 1.58, 1.71, 1.24, 1.45],
        [1.52, 1.58, 1.71, 1.24, 1.45],
        [1.51, 1.58, 1.71, 1.24, 1.45],
        [1.52, 1.58, 1.71, 1.25, 1.45],
        [1.54, 1.60, 1.73, 1.27, 1.47],
        [1.53, 1.60, 1.72, 1.27, 1.47],
        [1.52, 1.58, 1.71, 1.24, 1.45],
        [1.52, 1.58, 1.71, 1.25, 1.45],
    ]
)
TURNER_SD.setflags(write=False)

#: Marginal ("any outcome, any comparison") Turner prior: N(-2.56, 1.74^2) on log(tau^2).
TURNER_ANY = (-2.56, 1.74)

#: Outcome types of Rhodes et al. (2015), Table 3, in the order of the table.
RHODES_OUTCOMES: tuple[str, ...] = (
    "obstetric",
    "resource_use",  # resource use and hospital stay / process
    "internal_structure",  # internal and external structure-related outcome
    "general_physical_health",  # general physical health, adverse event, pain, QoL/functioning
    "signs_symptoms",  # signs/symptoms ... end of condition; infection / onset of new disease
    "mental_health",
    "biological_marker",
    "subjective",  # various subjectively measured outcomes
)

#: Types of comparison of Rhodes et al. (2015), Table 3.
RHODES_COMPARISONS: tuple[str, ...] = (
    "pharma_vs_placebo",  # pharmacological vs. placebo / control
    "pharma_vs_pharma",  # pharmacological vs. pharmacological
    "nonpharma",  # non-pharmacological (any)
)

#: Medical areas: Table 3 ("other"), Table A.3.1 ("respiratory"), Table A.3.2 ("cancer").
RHODES_AREAS: tuple[str, ...] = ("other", "respiratory", "cancer")

# location of log(tau^2) under t_5: [area][outcome, comparison]
RHODES_LOCATION = np.array(
    [
        [  # other (Table 3)
            [-4.13, -4.40, -3.99],
            [-2.55, -2.83, -2.41],
            [-2.43, -2.70, -2.29],
            [-3.16, -3.44, -3.02],
            [-3.00, -3.27, -2.86],
            [-2.99, -3.27, -3.85],
            [-3.41, -3.68, -3.27],
            [-2.76, -3.03, -2.62],
        ],
        [  # respiratory (Table A.3.1)
            [-6.03, -6.31, -5.89],
            [-4.46, -4.73, -4.32],
            [-4.33, -4.61, -4.19],
            [-5.07, -5.34, -4.93],
            [-4.90, -5.18, -4.76],
            [-4.90, -5.17, -4.76],
            [-5.31, -5.59, -5.17],
            [-4.66, -4.94, -4.52],
        ],
        [  # cancer (Table A.3.2)
            [-1.57, -1.85, -1.43],
            [0.01, -0.27, 0.15],
            [-0.13, -0.14, 0.27],
            [-0.60, -0.88, -0.46],
            [-0.44, -0.71, -0.30],
            [-0.43, -0.71, -0.29],
            [-0.85, -1.13, -0.71],
            [-0.20, -0.48, -0.06],
        ],
    ]
)
RHODES_LOCATION.setflags(write=False)

# scale of log(tau^2) under t_5, same layout
RHODES_SCALE = np.array(
    [
        [
            [2.34, 2.31, 2.11],
            [2.73, 2.70, 2.57],
            [2.50, 2.46, 2.32],
            [2.50, 2.44, 2.27],
            [2.50, 2.47, 2.33],
            [2.16, 2.14, 1.93],
            [2.83, 2.78, 2.66],
            [2.58, 2.59, 2.41],
        ],
        [
            [2.36, 2.31, 2.21],
            [2.74, 2.70, 2.57],
            [2.51, 2.46, 2.33],
            [2.51, 2.45, 2.28],
            [2.50, 2.47, 2.33],
            [2.17, 2.14, 1.94],
            [2.83, 2.78, 2.66],
            [2.59, 2.59, 2.41],
        ],
        [
            [2.45, 2.41, 2.24],
            [2.83, 2.79, 2.68],
            [2.61, 2.56, 2.45],
            [2.61, 2.55, 2.40],
            [2.60, 2.57, 2.46],
            [2.28, 2.25, 2.08],
            [2.93, 2.87, 2.78],
            [2.68, 2.68, 2.53],
        ],
    ]
)
RHODES_SCALE.setflags(write=False)

# entries of RHODES_LOCATION (area, outcome, comparison) that break the additive structure of
# their table (comparison effects -0.27/-0.28 and +0.14), with the value the structure implies
_RHODES_SUSPECT = {(0, 5, 2): -2.85, (2, 2, 0): 0.13}

#: Marginal ("any") Rhodes prior: t_5(-3.44, 2.59) on log(tau^2).
RHODES_ANY = (-3.44, 2.59)
RHODES_DF = 5.0

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@dataclass(frozen=True)
class TauPrior:
    """A prior on tau with what the integration needs.

    Attributes
    ----------
    family : str
        ``halfnormal``, ``halfcauchy``, ``uniform``, ``lognormal`` or ``logt``.
    scale : float
        Scale of the half-normal / half-Cauchy (NaN otherwise).
    loc_u, scale_u : float
        For ``lognormal`` and ``logt``: location and scale of ``log(tau)`` (half those of
        ``log(tau^2)``); NaN otherwise.
    df : float
        Degrees of freedom of the log-t (NaN otherwise).
    label : str
        Canonical name reported in results, e.g. ``"halfnormal"`` or
        ``"turner/pain/pharma_vs_placebo"``.
    tail_power : float
        ``b`` such that the density decays like ``tau^-b`` for large tau (``inf`` for lighter
        tails); ``logt`` decays like ``tau^-1 / log(tau)^(df+1)``, recorded as 1 with
        :attr:`log_tail` set.
    notes : tuple of str
        What to report about the prior.
    """

    family: str
    scale: float
    loc_u: float
    scale_u: float
    df: float
    label: str
    tail_power: float
    log_tail: bool
    notes: tuple[str, ...]

    @property
    def proper(self) -> bool:
        return self.family != "uniform"

    def log_density_u(self, u: np.ndarray) -> np.ndarray:
        """``log(p(tau) * tau)`` at ``tau = exp(u)``: the log density of ``u = log(tau)``."""
        if self.family == "halfnormal":
            t = np.exp(u - math.log(self.scale))
            return math.log(2.0) - _HALF_LOG_2PI - 0.5 * t * t + u - math.log(self.scale)
        if self.family == "halfcauchy":
            # p(tau) tau = (2/pi) t / (1 + t^2) with t = tau/s; log-stable for large and small t
            a = u - math.log(self.scale)
            return math.log(2.0 / math.pi) - np.logaddexp(-a, a)
        if self.family == "uniform":
            return np.asarray(u, dtype=float).copy()
        z = (u - self.loc_u) / self.scale_u
        if self.family == "lognormal":
            return -_HALF_LOG_2PI - 0.5 * z * z - math.log(self.scale_u)
        return distributions.t_logpdf(z, self.df) - math.log(self.scale_u)

    def log_cdf(self, tau: np.ndarray) -> np.ndarray:
        """``log P(T <= tau)`` (for ``uniform``: ``log(tau)``, the unnormalised mass)."""
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore"):
            if self.family == "halfnormal":
                return np.log(special.erf(tau / (self.scale * math.sqrt(2.0))))
            if self.family == "halfcauchy":
                return np.log(2.0 / math.pi * np.arctan(tau / self.scale))
            if self.family == "uniform":
                return np.log(tau)
            z = (np.log(tau) - self.loc_u) / self.scale_u
            if self.family == "lognormal":
                return special.log_ndtr(z)
            return distributions.t_logcdf(z, self.df)

    def log_sf(self, tau: np.ndarray) -> np.ndarray:
        """``log P(T > tau)`` (``inf`` for the improper uniform prior)."""
        tau = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore"):
            if self.family == "halfnormal":
                return np.log(special.erfc(tau / (self.scale * math.sqrt(2.0))))
            if self.family == "halfcauchy":
                return np.log(2.0 / math.pi * np.arctan(self.scale / tau))
            if self.family == "uniform":
                return np.full(tau.shape, np.inf)
            z = (np.log(tau) - self.loc_u) / self.scale_u
            if self.family == "lognormal":
                return special.log_ndtr(-z)
            return distributions.t_logsf(z, self.df)

    def ppf(self, p: np.ndarray) -> np.ndarray:
        """Quantile function (for ``uniform``: the tau with unnormalised mass ``p``)."""
        p = np.asarray(p, dtype=float)
        if self.family == "halfnormal":
            return self.scale * math.sqrt(2.0) * special.erfinv(p)
        if self.family == "halfcauchy":
            return self.scale * np.tan(0.5 * math.pi * p)
        if self.family == "uniform":
            return p
        if self.family == "lognormal":
            return np.exp(self.loc_u + self.scale_u * special.ndtri(p))
        return np.exp(self.loc_u + self.scale_u * distributions.t_ppf(p, self.df))

    def reference_tau(self) -> float:
        """A typical tau under the prior (its median; 0 for ``uniform``)."""
        if self.family == "uniform":
            return 0.0
        return float(self.ppf(np.array(0.5)))


def _lookup(name: str, options: tuple[str, ...], what: str) -> int:
    try:
        return options.index(name)
    except ValueError:
        raise ValueError(f"unknown {what} {name!r}; expected one of {list(options)}") from None


def make_tau_prior(tau_prior, tau_scale: float | None) -> TauPrior:
    """Turn the ``tau_prior`` / ``tau_scale`` arguments of ``bayes_pool`` into a :class:`TauPrior`.

    Parameters
    ----------
    tau_prior : str or tuple
        ``"halfnormal"``, ``"halfcauchy"``, ``"uniform"``; ``("turner", outcome, comparison)``
        with names from :data:`TURNER_OUTCOMES` / :data:`TURNER_COMPARISONS` (or
        ``("turner", "any")`` for the marginal prior); ``("rhodes", outcome, comparison)`` or
        ``("rhodes", outcome, comparison, area)`` with names from :data:`RHODES_OUTCOMES`,
        :data:`RHODES_COMPARISONS` and ``area`` in ``("other", "respiratory", "cancer")``
        (or ``("rhodes", "any")``).
    tau_scale : float
        Scale of the half-normal and half-Cauchy priors (ignored by the others).
    """
    if isinstance(tau_prior, str):
        family = tau_prior.lower()
        if family in ("halfnormal", "halfcauchy"):
            s = float(tau_scale) if tau_scale is not None else float("nan")
            if not (math.isfinite(s) and s > 0):
                raise ValueError(
                    f"tau_scale must be finite and > 0 for {family}; got {tau_scale!r}"
                )
            tail = math.inf if family == "halfnormal" else 2.0
            return TauPrior(family, s, math.nan, math.nan, math.nan, family, tail, False, ())
        if family == "uniform":
            return TauPrior(
                "uniform",
                math.nan,
                math.nan,
                math.nan,
                math.nan,
                "uniform",
                0.0,
                False,
                ("tau prior: improper uniform on tau >= 0",),
            )
        raise ValueError(
            f"unknown tau_prior {tau_prior!r}; expected 'halfnormal', 'halfcauchy', 'uniform', "
            "('turner', outcome, comparison) or ('rhodes', outcome, comparison[, area])"
        )
    if not isinstance(tau_prior, tuple) or not tau_prior or not isinstance(tau_prior[0], str):
        raise ValueError(f"tau_prior must be a string or a tuple; got {tau_prior!r}")
    kind = tau_prior[0].lower()
    rest = tuple(tau_prior[1:])
    if kind == "turner":
        if rest in (("any",), ("any", "any")):
            m, sd = TURNER_ANY
            label = "turner/any"
        elif len(rest) == 2:
            i = _lookup(rest[0], TURNER_OUTCOMES, "Turner outcome type")
            j = _lookup(rest[1], TURNER_COMPARISONS, "Turner comparison type")
            m, sd = float(TURNER_MEAN[i, j]), float(TURNER_SD[i, j])
            label = f"turner/{rest[0]}/{rest[1]}"
        else:
            raise ValueError(
                "tau_prior ('turner', ...) takes (outcome, comparison) or ('any',); "
                f"got {tau_prior!r}"
            )
        note = (
            f"tau prior: Turner et al. (2015, Stat Med 34:984, Table IV) log-normal for log odds "
            f"ratios, log(tau^2) ~ N({m:.2f}, {sd:.2f}^2)"
        )
        return TauPrior(
            "lognormal", math.nan, m / 2, sd / 2, math.nan, label, math.inf, False, (note,)
        )
    if kind == "rhodes":
        if rest in (("any",), ("any", "any")):
            loc, sc = RHODES_ANY
            label = "rhodes/any"
            flagged = None
        elif len(rest) in (2, 3):
            i = _lookup(rest[0], RHODES_OUTCOMES, "Rhodes outcome type")
            j = _lookup(rest[1], RHODES_COMPARISONS, "Rhodes comparison type")
            area = rest[2] if len(rest) == 3 else "other"
            a = _lookup(area, RHODES_AREAS, "Rhodes medical area")
            loc, sc = float(RHODES_LOCATION[a, i, j]), float(RHODES_SCALE[a, i, j])
            label = f"rhodes/{rest[0]}/{rest[1]}" + (f"/{area}" if area != "other" else "")
            flagged = _RHODES_SUSPECT.get((a, i, j))
        else:
            raise ValueError(
                "tau_prior ('rhodes', ...) takes (outcome, comparison[, area]) or ('any',); "
                f"got {tau_prior!r}"
            )
        notes = [
            f"tau prior: Rhodes et al. (2015, J Clin Epidemiol 68:52, Table 3) log-t for SMDs, "
            f"log(tau^2) ~ t_5({loc:.2f}, {sc:.2f})"
        ]
        if flagged:
            notes.append(
                f"tau prior: this Rhodes et al. location ({loc:.2f}) breaks the additive pattern "
                f"of its table ({flagged:.2f} expected); kept as bayesmeta 3.4 ships it"
            )
        return TauPrior(
            "logt", math.nan, loc / 2, sc / 2, RHODES_DF, label, 1.0, True, tuple(notes)
        )
    raise ValueError(f"unknown tau_prior family {tau_prior[0]!r}; expected 'turner' or 'rhodes'")
