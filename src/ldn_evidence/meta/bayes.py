"""Bayesian normal-normal random-effects meta-analysis by direct numerical integration.

Public API
----------
``bayes_pool(yi, vi, *, tau_prior="halfnormal", tau_scale=0.5, mu_prior=None, level=0.95,
thresholds=())`` -> :class:`BayesPoolResult`
    Pools one analysis. Fields: ``k, mu_mean, mu_sd, mu_median, mu_ci_low, mu_ci_high``
    (equal-tailed interval at ``level``), ``tau_median, tau_upper95`` (the 95% posterior
    quantile of tau), ``pred_low, pred_high`` (equal-tailed interval at ``level`` of the
    posterior predictive distribution of a new study's true effect), ``prob_mu_positive``
    (posterior P(mu > 0)), ``tau_prior, tau_scale, mu_prior, level``, ``prob_mu_above`` (a mapping
    threshold -> P(mu > threshold) for the requested ``thresholds``) and ``notes``.
``bayes_prob_above(result, threshold)``
    P(mu > threshold) for any threshold(s), from the posterior kept in a result.
``bayes_pool_many(frame, by, yi="yi", vi="vi", *, ...)``
    The same for every group of a long table at once (no Python loop over analyses), one row
    per group; the numbers equal those of :func:`bayes_pool`.

Model
-----
``y_i ~ N(mu, v_i + tau^2)`` with known ``v_i``; prior ``p(tau)`` (see
:mod:`ldn_evidence.meta.bayes_priors`: half-normal, half-Cauchy, improper uniform, the empirical
log-normal prior of Turner et al. 2015 and log-t prior of Rhodes et al. 2015) and, for mu, an
improper uniform prior (default) or ``N(m0, s0^2)`` (``mu_prior=(m0, s0)``).

Method
------
As in bayesmeta (Röver 2020, J Stat Softw 93(6), Sec. 2-3): mu is integrated out analytically,
so the marginal posterior of tau is ``p(tau | y) ∝ p(tau) L(tau)`` with

    log L(tau) = -1/2 sum log(v_i + tau^2) - 1/2 log W(tau) - 1/2 Q(tau),
    W = sum w_i,  w_i = 1 / (v_i + tau^2),  mu_hat = sum w_i y_i / W,  Q = sum w_i (y_i - mu_hat)^2

(a normal prior on mu enters as one more "study" ``(m0, s0^2)`` without tau^2). Given tau,
``mu | tau, y ~ N(mu_hat(tau), 1 / W(tau))`` and a new study's effect
``theta_new | tau, y ~ N(mu_hat(tau), 1 / W(tau) + tau^2)``; the marginal posteriors of mu and of
theta_new are therefore mixtures of these normals over the posterior of tau.

Röver's DIRECT algorithm (Röver & Friede 2017, J Comput Graph Stat 26:217) discretises tau into
bins with a bounded divergence between neighbouring conditionals. Here the mixture is instead
the trapezoidal rule in ``z``, where ``log(tau) = c + s sinh(z)`` (c the posterior mode of
``log(tau)`` and ``s`` half its spread, both from a coarse first pass): for integrands analytic in a
strip and decaying at both ends the trapezoidal rule converges geometrically (Trefethen &
Weideman 2014, SIAM Review 56:385, Sec. 5), and the sinh map puts nodes densely at the mode and
reaches tails that decay only polynomially in tau with few nodes. The prior mass below the
grid (``tau < 2e-9 sqrt(min v_i)``, where ``L(tau) = L(0)`` to 1e-17) is added exactly from the
prior CDF as a component at tau = 0, and the prior mass above the grid as one component at its
top. The CDF of tau between nodes is the integral of the sinc interpolant of the density
(Stenger 1993, Sec. 4.5); quantiles of mu and theta_new solve the mixture CDF by safeguarded
Halley steps. On the 30 reference cases of ``tests/reference/bayesmeta`` the results agree
with bayesmeta's exact posterior to within 6e-9 (relative to max(1, |value|)).

Moments that do not exist are not reported: with a flat prior on mu, the tail of the posterior
of tau decays like ``tau^-(k - 1 + b)`` for a prior tail ``tau^-b`` (uniform: b = 0,
half-Cauchy: 2, log-t: 1 times a power of log tau), and ``E|mu|`` / ``Var(mu)`` exist only if
``E tau`` / ``E tau^2`` do; ``mu_mean`` is then NaN and ``mu_sd`` inf, with a note. The improper
uniform prior on tau gives a proper posterior only when ``L(tau) ~ tau^-(k-1)`` (flat mu prior)
or ``tau^-k`` (normal mu prior) is integrable, i.e. for k >= 3 (flat) or k >= 2 (normal);
otherwise :func:`bayes_pool` raises ``ValueError``.

References
----------
Röver C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. J Stat
Softw 93(6):1-51.
Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Predictive distributions for
between-study heterogeneity and simple methods for their application in Bayesian
meta-analysis. Stat Med 34(6):984-998.
Rhodes KM, Turner RM, Higgins JPT (2015). Predictive distributions were developed for the
extent of heterogeneity in meta-analyses of continuous outcome data. J Clin Epidemiol
68(1):52-60.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from ldn_evidence.meta.bayes_priors import TauPrior, make_tau_prior

__all__ = [
    "BAYES_FIELDS",
    "BayesPoolResult",
    "bayes_pool",
    "bayes_pool_many",
    "bayes_prob_above",
]

#: Nodes of the fine tau grid (trapezoidal rule in z); see the module docstring. An analysis
#: whose grid does not pass the halving check (:data:`REFINE_TOL`) is redone with half the
#: step (2 N - 1 nodes), up to :data:`MAX_NODES`. Node counts are odd.
N_NODES = 129
MAX_NODES = 4097
#: Halving check: the trapezoidal sums with step h and 2h of the posterior mass and of the
#: posterior mean of log(tau) must agree to this (relative / absolute); the error of the rule
#: at step h is then about the square of it (geometric convergence).
REFINE_TOL = 1e-6
#: Nodes of the coarse first pass that locates the posterior of log(tau).
N_COARSE = 192
# grid limits in log(tau): from log(sqrt(min v)) - _BELOW to log(max(...)) + _ABOVE
_BELOW = 20.0
_ABOVE = 32.0
# analyses per block of the vectorised engine (bounds memory: ~ block x N_NODES x 8 bytes)
_BLOCK = 2048


@dataclass(frozen=True)
class BayesPoolResult:
    """Posterior summaries of a Bayesian random-effects meta-analysis.

    Attributes
    ----------
    k : int
        Number of estimates.
    mu_mean, mu_sd : float
        Posterior mean and standard deviation of mu (NaN / inf where the moment does not
        exist; see ``notes``).
    mu_median, mu_ci_low, mu_ci_high : float
        Posterior median and equal-tailed credible interval of mu at ``level``.
    tau_median, tau_upper95 : float
        Posterior median and 95% quantile of tau.
    pred_low, pred_high : float
        Equal-tailed interval at ``level`` of the posterior predictive distribution of the true
        effect in a new study.
    prob_mu_positive : float
        Posterior probability that mu > 0.
    tau_prior : str
        The prior on tau (``"halfnormal"``, ``"halfcauchy"``, ``"uniform"``,
        ``"turner/<outcome>/<comparison>"``, ``"rhodes/<outcome>/<comparison>[/<area>]"``).
    tau_scale : float
        Scale of the half-normal / half-Cauchy prior (NaN for the others).
    mu_prior : tuple of float or None
        ``(mean, sd)`` of the normal prior on mu, or None for the improper uniform prior.
    notes : tuple of str
        The prior, edge cases (k = 1, moments that do not exist) and warnings.
    level : float
        Level of the credible and predictive intervals.
    prob_mu_above : Mapping of float to float
        P(mu > t) for each requested threshold t.
    """

    k: int
    mu_mean: float
    mu_sd: float
    mu_median: float
    mu_ci_low: float
    mu_ci_high: float
    tau_median: float
    tau_upper95: float
    pred_low: float
    pred_high: float
    prob_mu_positive: float
    tau_prior: str
    tau_scale: float
    mu_prior: tuple[float, float] | None
    notes: tuple[str, ...]
    level: float = 0.95
    prob_mu_above: Mapping[float, float] = field(default_factory=dict)
    # the posterior of mu as a normal mixture: (weights, means, sds); for bayes_prob_above
    _mixture: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )


#: Columns of :func:`bayes_pool_many` after the ``by`` columns (then one column per threshold).
BAYES_FIELDS: tuple[str, ...] = (
    "k",
    "mu_mean",
    "mu_sd",
    "mu_median",
    "mu_ci_low",
    "mu_ci_high",
    "tau_median",
    "tau_upper95",
    "pred_low",
    "pred_high",
    "prob_mu_positive",
    "tau_prior",
    "tau_scale",
    "mu_prior",
    "notes",
)

_NUMERIC = BAYES_FIELDS[1:11]


# ----------------------------------------------------------------------------- options


def _check_mu_prior(mu_prior) -> tuple[float, float] | None:
    if mu_prior is None:
        return None
    try:
        m0, s0 = (float(x) for x in mu_prior)
    except (TypeError, ValueError):
        raise ValueError(f"mu_prior must be None or (mean, sd); got {mu_prior!r}") from None
    if not (math.isfinite(m0) and math.isfinite(s0) and s0 > 0):
        raise ValueError(f"mu_prior (mean, sd) must be finite with sd > 0; got {mu_prior!r}")
    return (m0, s0)


def _check_level(level: float) -> float:
    level = float(level)
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    return level


def _check_propriety(k: np.ndarray, prior: TauPrior, mu_prior) -> None:
    if prior.proper:
        return
    need = 3 if mu_prior is None else 2
    if np.any(k < need):
        kmin = int(k.min())
        raise ValueError(
            f"the improper uniform prior on tau gives an improper posterior for k = {kmin}: "
            f"it needs k >= {need} ({'flat' if mu_prior is None else 'normal'} prior on mu), "
            "because L(tau) decays only like tau^-(k-1) (flat) or tau^-k (normal mu prior); "
            "use a proper prior such as 'halfnormal'"
        )


def _moment_exists(order: int, k: np.ndarray, prior: TauPrior, mu_prior) -> np.ndarray:
    """Whether E|mu|^order is finite: it is iff E tau^order is (flat mu prior)."""
    if mu_prior is not None or math.isinf(prior.tail_power):
        return np.ones(k.shape, dtype=bool)
    a = (k - 1) + prior.tail_power  # posterior density of tau ~ tau^-a (times log terms)
    if prior.log_tail:
        return order <= a - 1
    return order < a - 1


def _notes_for(k: int, prior: TauPrior, mu_prior, has_mean: bool, has_sd: bool) -> tuple:
    notes = list(prior.notes)
    if mu_prior is not None:
        notes.append(f"mu prior: normal(mean={mu_prior[0]:g}, sd={mu_prior[1]:g})")
    if k == 1:
        notes.append(
            "k = 1: one study carries no information on heterogeneity; the posterior of tau is "
            "its prior"
        )
    if not has_mean:
        notes.append("posterior mean of mu does not exist (tau posterior too heavy-tailed)")
    elif not has_sd:
        notes.append("posterior variance of mu is infinite (tau posterior too heavy-tailed)")
    return tuple(notes)


# ----------------------------------------------------------------------------- engine


def _rows_of(mask_col: np.ndarray):
    """The rows of a study column that hold a study: a slice when they are a suffix (blocks
    are sorted by k, so this is the usual case), else an index array."""
    n = mask_col.size
    cnt = int(mask_col.sum())
    if cnt == n or (cnt and mask_col[n - cnt :].all()):
        return slice(n - cnt, n)
    return np.flatnonzero(mask_col)


def _loglik(tau2, y, v, mask, mu_prior):
    """log L(tau), mu_hat(tau) and 1 / W(tau) at every node.

    ``tau2`` is (n, G); ``y``, ``v``, ``mask`` are (n, K) with ``y`` centred per analysis. Loops
    over the K study columns only; padded cells are never touched.
    """
    kmax = y.shape[1]
    sw = np.zeros(tau2.shape)
    swy = np.zeros(tau2.shape)
    slog = np.zeros(tau2.shape)
    if mu_prior is not None:
        m0, s0 = mu_prior
        sw += 1.0 / s0**2
        swy += m0 / s0**2
    ws = []
    for i in range(kmax):
        rows = _rows_of(mask[:, i])
        d = v[rows, i : i + 1] + tau2[rows]
        slog[rows] += np.log(d)
        w = np.reciprocal(d, out=d)
        ws.append((rows, w))
        sw[rows] += w
        swy[rows] += w * y[rows, i : i + 1]
    mhat = swy / sw
    q = np.zeros(tau2.shape)
    for i, (rows, w) in enumerate(ws):
        d = y[rows, i : i + 1] - mhat[rows]
        q[rows] += w * d * d
    if mu_prior is not None:
        d = mu_prior[0] - mhat
        q += d * d / mu_prior[1] ** 2
    return -0.5 * (slog + np.log(sw) + q), mhat, 1.0 / sw


@functools.lru_cache(maxsize=4)
def _sinc_cdf_matrix(g: int) -> np.ndarray:
    """T[i, j] = 1/2 + Si(pi (i - j)) / pi: the sinc-interpolant CDF weights at the nodes."""
    d = np.arange(g)[:, None] - np.arange(g)[None, :]
    si, _ = special.sici(np.pi * d)
    t = 0.5 + si / np.pi
    t.setflags(write=False)
    return t


@dataclass
class _Posterior:
    """Posterior on the grid for a block of n analyses (internal)."""

    z: np.ndarray  # (n, G) fine nodes
    c: np.ndarray  # (n,) centre of the sinh map (log tau)
    s: np.ndarray  # (n,) scale of the sinh map
    h: np.ndarray  # (n,) spacing in z
    p: np.ndarray  # (n, G + 2) normalised weights: [tau = 0 lump, nodes..., top lump]
    tau: np.ndarray  # (n, G + 2)
    mean: np.ndarray  # (n, G + 2) conditional mean of mu (centre added back)
    var: np.ndarray  # (n, G + 2) conditional variance of mu
    lognorm: np.ndarray  # (n,) log of the normalising constant (relative to the mode)
    logl0: np.ndarray  # (n,) log L(0)
    u_bottom: np.ndarray  # (n,)


def _posterior(y, v, mask, prior: TauPrior, mu_prior, g: int) -> tuple[_Posterior, np.ndarray]:
    """The posterior on a grid of ``g`` nodes, and whether the grid passed the halving check."""
    n, _ = y.shape
    k = mask.sum(axis=1)
    vmin = np.where(mask, v, np.inf).min(axis=1)
    vmax = np.where(mask, v, -np.inf).max(axis=1)
    ymax = np.where(mask, y, -np.inf).max(axis=1)
    ymin = np.where(mask, y, np.inf).min(axis=1)
    centre = np.where(mask, y, 0.0).sum(axis=1) / k
    yc = np.where(mask, y - centre[:, None], 0.0)
    mp = None if mu_prior is None else (mu_prior[0] - centre[:, None], mu_prior[1])

    ref_hi = np.maximum(np.sqrt(vmax), ymax - ymin)
    ref_hi = np.maximum(ref_hi, prior.reference_tau())
    u_bottom = 0.5 * np.log(vmin) - _BELOW
    u_top = np.log(ref_hi) + _ABOVE
    if prior.family == "logt":
        # the log-t prior decays only polynomially in log(tau): reach 60 scales both ways
        # (tail mass ~ 3e-9, the rest is in the end components); tau^2 must stay finite
        u_bottom = np.minimum(u_bottom, prior.loc_u - 60.0 * prior.scale_u)
        u_top = np.minimum(np.maximum(u_top, prior.loc_u + 60.0 * prior.scale_u), 300.0)

    # coarse pass: mode and spread of log(tau)
    frac = np.linspace(0.0, 1.0, N_COARSE)
    hc = (u_top - u_bottom) / (N_COARSE - 1)
    uc = u_bottom[:, None] + (u_top - u_bottom)[:, None] * frac[None, :]
    lf, _, _ = _loglik(np.exp(2.0 * uc), yc, v, mask, mp)
    lf += prior.log_density_u(uc)
    j = np.argmax(lf, axis=1)
    rows = np.arange(n)
    jm = np.clip(j, 1, N_COARSE - 2)
    f0, fm, fp = lf[rows, jm], lf[rows, jm - 1], lf[rows, jm + 1]
    d2 = (fp - 2.0 * f0 + fm) / hc**2
    d1 = (fp - fm) / (2.0 * hc)
    interior = (j == jm) & (d2 < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(interior, np.clip(-d1 / d2, -hc, hc), 0.0)
        sig_c = np.where(interior, 1.0 / np.sqrt(-d2), np.inf)
    c = uc[rows, j] + shift
    wc = np.exp(lf - lf.max(axis=1, keepdims=True))
    wc /= wc.sum(axis=1, keepdims=True)
    mu_u = (wc * uc).sum(axis=1)
    sig_m = np.sqrt((wc * (uc - mu_u[:, None]) ** 2).sum(axis=1))
    s = np.clip(0.5 * np.minimum(sig_c, sig_m), 1e-4, 2.0)

    # fine pass: trapezoidal rule in z, log(tau) = c + s sinh(z)
    z_lo = np.arcsinh((u_bottom - c) / s)
    z_hi = np.arcsinh((u_top - c) / s)
    frac = np.linspace(0.0, 1.0, g)
    z = z_lo[:, None] + (z_hi - z_lo)[:, None] * frac[None, :]
    h = (z_hi - z_lo) / (g - 1)
    u = c[:, None] + s[:, None] * np.sinh(z)
    tau = np.exp(u)
    tau_all = np.empty((n, g + 2))
    tau_all[:, 0] = 0.0
    tau_all[:, 1 : g + 1] = tau
    tau_all[:, g + 1] = tau[:, -1]
    ll, mhat, cvar = _loglik(tau_all * tau_all, yc, v, mask, mp)
    lw = np.empty((n, g + 2))
    lw[:, 1 : g + 1] = (
        ll[:, 1 : g + 1]
        + prior.log_density_u(u)
        + np.log(s[:, None] * np.cosh(z))
        + np.log(h)[:, None]
    )
    lw[:, 1] -= math.log(2.0)  # trapezoidal end weights
    lw[:, g] -= math.log(2.0)
    lw[:, 0] = ll[:, 0] + prior.log_cdf(np.exp(u_bottom))
    lw[:, g + 1] = ll[:, g + 1] + (prior.log_sf(tau[:, -1]) if prior.proper else -np.inf)
    lmax = lw.max(axis=1, keepdims=True)
    p = np.exp(lw - lmax)
    # halving check (g is odd, so every other node keeps both ends)
    pn = p[:, 1 : g + 1]
    p2 = 2.0 * pn[:, ::2]  # step 2h (the end weights of pn are already halved)
    m1, m2 = pn.sum(axis=1), p2.sum(axis=1)
    e1 = (pn * u).sum(axis=1) / m1
    e2 = (p2 * u[:, ::2]).sum(axis=1) / m2
    ends = p[:, 0] + p[:, g + 1]
    ok = (np.abs(m1 - m2) <= REFINE_TOL * (m1 + ends)) & (
        np.abs(e1 - e2) <= REFINE_TOL * np.maximum(1.0, s)
    )
    tot = p.sum(axis=1, keepdims=True)
    p /= tot
    post = _Posterior(
        z=z,
        c=c,
        s=s,
        h=h,
        p=p,
        tau=tau_all,
        mean=mhat + centre[:, None],
        var=cvar,
        lognorm=(lmax + np.log(tot))[:, 0],
        logl0=ll[:, 0],
        u_bottom=u_bottom,
    )
    return post, ok


def _window(p: np.ndarray, tiny: float = 1e-16) -> tuple[np.ndarray, np.ndarray]:
    """Column indices (n, W) of the smallest window of each row holding every weight > tiny.

    W is the widest window of the block; a row's columns past its window repeat its last
    column and must be given weight 0 by the caller: the second array is False there.
    """
    big = p > tiny
    first = np.argmax(big, axis=1)
    last = p.shape[1] - 1 - np.argmax(big[:, ::-1], axis=1)
    width = int((last - first).max()) + 1
    cols = first[:, None] + np.arange(width)[None, :]
    inside = cols <= last[:, None]
    return np.minimum(cols, last[:, None]), inside


def _tau_quantiles(post: _Posterior, prior: TauPrior, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Quantiles ``qs`` of the posterior of tau for every analysis of the block.

    The CDF in z is the integral of the sinc interpolant of the node weights (Stenger 1993,
    Sec. 4.5): exact at the nodes through a fixed Toeplitz matrix; between the bracketing nodes
    a cubic Hermite guess is polished by Newton steps on the sinc formula.
    """
    n, g = post.z.shape
    p0 = post.p[:, 0]
    pn = post.p[:, 1 : g + 1]
    f_nodes = p0[:, None] + pn @ _sinc_cdf_matrix(g).T
    cols, inside = _window(pn)
    rows_all = np.arange(n)[:, None]
    zw = post.z[rows_all, cols]
    pw = np.where(inside, pn[rows_all, cols], 0.0)
    results = []
    for q in qs:
        out = np.empty(n)
        # quantile inside the tau = 0 component (prior mass below the grid): invert the prior
        low = p0 >= q
        if np.any(low):
            logf = math.log(q) + post.lognorm[low] - post.logl0[low]
            out[low] = prior.ppf(np.exp(logf))
        # quantile above the grid: report its top
        high = ~low & (f_nodes[:, -1] < q)
        out[high] = post.tau[high, g]
        mid = np.flatnonzero(~low & ~high)
        if mid.size:
            fm = f_nodes[mid]
            i = np.maximum(np.argmax(fm >= q, axis=1), 1)  # first node with F >= q
            r = np.arange(mid.size)
            hh = post.h[mid]
            zl = post.z[mid, i - 1]
            fl, fr = fm[r, i - 1], fm[r, i]
            dl, dr = pn[mid, i - 1] / hh, pn[mid, i] / hh
            # cubic Hermite F(zl + t h) on [0, 1], solved for t by Newton from the linear guess
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.clip(np.where(fr > fl, (q - fl) / (fr - fl), 0.5), 0.0, 1.0)
            for _ in range(6):
                t2, t3 = t * t, t * t * t
                h00, h10 = 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t
                h01, h11 = -2 * t3 + 3 * t2, t3 - t2
                f = h00 * fl + h10 * hh * dl + h01 * fr + h11 * hh * dr
                d = (6 * t2 - 6 * t) * (fl - fr) + (3 * t2 - 4 * t + 1) * hh * dl
                d += (3 * t2 - 2 * t) * hh * dr
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = np.clip(np.where(d > 0, t - (f - q) / d, t), 0.0, 1.0)
            zz = zl + t * hh
            zn, pm, h2 = zw[mid], pw[mid], hh[:, None]
            for _ in range(4):
                x = (zz[:, None] - zn) / h2
                si, _ = special.sici(np.pi * x)
                fz = p0[mid] + (pm * (0.5 + si / np.pi)).sum(axis=1)
                dens = (pm * np.sinc(x)).sum(axis=1) / hh
                with np.errstate(divide="ignore", invalid="ignore"):
                    step = np.where(dens > 0, (fz - q) / dens, 0.0)
                step = np.clip(step, -hh, hh)
                zz = zz - step
                if np.all(np.abs(step) <= 1e-12 * (1.0 + np.abs(zz))):
                    break
            out[mid] = np.exp(post.c[mid] + post.s[mid] * np.sinh(zz))
        results.append(out)
    return results


def _mixture_quantiles(p, m, sd, qs: Sequence[float]) -> np.ndarray:
    """Quantiles ``qs`` of the normal mixtures sum_j p[:, j] N(m[:, j], sd[:, j]^2), row by row.

    Halley steps on the mixture CDF, safeguarded by a bracket: a quantile lies between the
    smallest and largest component quantiles (components of weight < 1e-15 left out). All
    quantiles of a row are iterated together; returns an array of shape (n, len(qs)).
    """
    n = p.shape[0]
    qv = np.asarray(qs, dtype=float)
    inv = 1.0 / sd
    use = p > 1e-15
    cq = m[:, None, :] + sd[:, None, :] * special.ndtri(qv)[None, :, None]  # (n, Q, W)
    lo = np.where(use[:, None, :], cq, np.inf).min(axis=2)
    hi = np.where(use[:, None, :], cq, -np.inf).max(axis=2)
    pu = p * use
    x = np.clip(
        (pu[:, None, :] * np.where(use[:, None, :], cq, 0.0)).sum(axis=2) / pu.sum(axis=1)[:, None],
        lo,
        hi,
    )
    scale = sd[np.arange(n), np.argmax(p, axis=1)][:, None]
    c = 1.0 / math.sqrt(2.0 * math.pi)
    active = np.arange(n)
    pa, ma, ia = p[:, None, :], m[:, None, :], inv[:, None, :]
    for _ in range(200):
        xa = x[active]
        zs = (xa[:, :, None] - ma) * ia
        f = (pa * special.ndtr(zs)).sum(axis=2) - qv[None, :]
        dens = pa * np.exp(-0.5 * zs * zs) * ia
        d = dens.sum(axis=2) * c
        d2 = -(dens * zs * ia).sum(axis=2) * c
        la, ha = lo[active], hi[active]
        la = np.where(f < 0, xa, la)
        ha = np.where(f > 0, xa, ha)
        lo[active], hi[active] = la, ha
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            new = xa - 2.0 * f * d / (2.0 * d * d - f * d2)
        bad = ~((new > la) & (new < ha)) | ~np.isfinite(new)
        new = np.where(bad, 0.5 * (la + ha), new)
        # a Halley step of size e leaves an error of order e^3: stop after a step below 1e-7
        size = np.abs(xa) + scale[active]
        done = (np.abs(new - xa) <= 1e-7 * size) & ~bad
        done |= (f == 0) | (ha - la <= 1e-12 * size)
        x[active] = np.where(f == 0, xa, new)
        keep = ~done.all(axis=1)
        if not keep.any():
            break
        if keep.mean() < 0.7:  # compact the rows still iterating
            active = active[keep]
            pa, ma, ia = p[active][:, None, :], m[active][:, None, :], inv[active][:, None, :]
    return x


def _take(post: _Posterior, sel: np.ndarray) -> _Posterior:
    return _Posterior(**{name: getattr(post, name)[sel] for name in post.__dataclass_fields__})


def _summaries(
    y, v, mask, prior: TauPrior, mu_prior, level: float, thresholds: np.ndarray | None
) -> dict[str, np.ndarray]:
    """Every numeric field for a block of analyses (padded arrays of shape (n, K)).

    Analyses whose grid fails the halving check are redone with half the step; each analysis
    is summarised on the first grid that passes (the same one whether it comes alone or in a
    batch).
    """
    n = y.shape[0]
    out: dict[str, np.ndarray] = {}
    mixtures: list = [None] * n
    idx = np.arange(n)
    g = N_NODES
    while idx.size:
        post, ok = _posterior(y[idx], v[idx], mask[idx], prior, mu_prior, g)
        if 2 * g - 1 > MAX_NODES:
            ok[:] = True
        if np.any(ok):
            sel = np.flatnonzero(ok)
            part = _summarise(
                _take(post, sel),
                mask[idx[sel]].sum(axis=1),
                prior,
                mu_prior,
                level,
                None if thresholds is None else thresholds[idx[sel]],
            )
            for name, val in part.items():
                if name == "_mixture":
                    for r, i in enumerate(idx[sel]):
                        mixtures[i] = tuple(a[r] for a in val)
                    continue
                if name not in out:
                    out[name] = np.empty((n, *val.shape[1:]), dtype=val.dtype)
                out[name][idx[sel]] = val
        idx = idx[~ok]
        g = 2 * g - 1
    out["_mixture"] = mixtures
    return out


def _summarise(post: _Posterior, k, prior: TauPrior, mu_prior, level, thresholds):
    # the mixture: the two end components and the window of nodes with weight > 1e-14 (the
    # rest changes no CDF by more than ~1e-12)
    g = post.z.shape[1]
    cols, inside = _window(post.p[:, 1 : g + 1], 1e-14)
    cols = np.concatenate(
        [
            np.zeros((cols.shape[0], 1), dtype=cols.dtype),
            cols + 1,
            np.full((cols.shape[0], 1), g + 1, dtype=cols.dtype),
        ],
        axis=1,
    )
    keep = np.concatenate(
        [np.ones((cols.shape[0], 1), bool), inside, np.ones((cols.shape[0], 1), bool)], axis=1
    )
    r = np.arange(cols.shape[0])[:, None]
    p = np.where(keep, post.p[r, cols], 0.0)
    m, var, tau = post.mean[r, cols], post.var[r, cols], post.tau[r, cols]
    sd = np.sqrt(var)
    sd_pred = np.sqrt(var + tau * tau)
    a = 0.5 * (1.0 - level)
    out: dict[str, np.ndarray] = {}
    # moments from every node: far nodes of tiny weight still carry tau^2 into the variance
    mean = (post.p * post.mean).sum(axis=1)
    variance = (post.p * (post.var + (post.mean - mean[:, None]) ** 2)).sum(axis=1)
    has_mean = _moment_exists(1, k, prior, mu_prior)
    has_sd = _moment_exists(2, k, prior, mu_prior)
    out["mu_mean"] = np.where(has_mean, mean, np.nan)
    out["mu_sd"] = np.where(has_sd, np.sqrt(variance), np.inf)
    qm = _mixture_quantiles(p, m, sd, (0.5, a, 1.0 - a))
    out["mu_median"], out["mu_ci_low"], out["mu_ci_high"] = qm.T
    out["tau_median"], out["tau_upper95"] = _tau_quantiles(post, prior, (0.5, 0.95))
    out["pred_low"], out["pred_high"] = _mixture_quantiles(p, m, sd_pred, (a, 1.0 - a)).T
    out["prob_mu_positive"] = (p * special.ndtr(m / sd)).sum(axis=1)
    if thresholds is not None:
        out["_above"] = np.stack(
            [(p * special.ndtr((m - t[:, None]) / sd)).sum(axis=1) for t in thresholds.T],
            axis=1,
        )
    out["_has_mean"] = has_mean
    out["_has_sd"] = has_sd
    out["_mixture"] = (p, m, sd)
    return out


# ----------------------------------------------------------------------------- public API


def _check_arrays(yi, vi) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim != 1 or v.ndim != 1 or y.shape != v.shape:
        raise ValueError(
            f"yi and vi must be 1-D of the same length; got shapes {y.shape} and {v.shape}"
        )
    if y.size == 0:
        raise ValueError("bayes_pool needs at least one estimate")
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"yi[{bad[0]}] must be finite; got {y[bad[0]]!r}")
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.isfinite(v) & (v > 0)))
    if bad.size:
        raise ValueError(f"vi[{bad[0]}] must be finite and > 0; got {v[bad[0]]!r}")
    return y, v


def _check_thresholds(thresholds) -> tuple[float, ...]:
    if thresholds is None:
        return ()
    if np.isscalar(thresholds):
        thresholds = (thresholds,)
    out = tuple(float(t) for t in thresholds)
    for t in out:
        if not math.isfinite(t):
            raise ValueError(f"thresholds must be finite; got {t!r}")
    return out


def bayes_pool(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    *,
    tau_prior: str | tuple = "halfnormal",
    tau_scale: float | None = 0.5,
    mu_prior: tuple[float, float] | None = None,
    level: float = 0.95,
    thresholds: Sequence[float] | float = (),
) -> BayesPoolResult:
    """Bayesian random-effects meta-analysis of one set of estimates (normal-normal model).

    The posterior is computed by direct numerical integration over tau as in bayesmeta
    (Röver 2020); see the module docstring for the model, the grid and the accuracy.

    Parameters
    ----------
    yi : array_like of shape (k,)
        Effect estimates.
    vi : array_like of shape (k,)
        Their sampling variances, finite and > 0.
    tau_prior : str or tuple, default "halfnormal"
        ``"halfnormal"``, ``"halfcauchy"`` (scale ``tau_scale``), ``"uniform"`` (improper);
        ``("turner", outcome, comparison)`` (Turner et al. 2015, log odds ratios) or
        ``("rhodes", outcome, comparison[, area])`` (Rhodes et al. 2015, SMDs), or
        ``("turner", "any")`` / ``("rhodes", "any")`` for their marginal priors. Names are
        listed in :mod:`ldn_evidence.meta.bayes_priors`.
    tau_scale : float, default 0.5
        Scale of the half-normal / half-Cauchy prior, on the scale of ``yi``.
    mu_prior : (mean, sd) or None
        Normal prior on mu; None (default) for the improper uniform prior.
    level : float, default 0.95
        Level of the equal-tailed credible and predictive intervals.
    thresholds : float or sequence of float
        Thresholds t for which ``prob_mu_above`` reports P(mu > t).

    Returns
    -------
    BayesPoolResult

    Raises
    ------
    ValueError
        For a non-finite ``yi[i]`` or a ``vi[i]`` that is not finite and > 0 (naming i), invalid
        options, or the improper uniform prior with too few studies (k < 3 with a flat prior on
        mu, k < 2 with a normal one).

    Examples
    --------
    >>> r = bayes_pool([0.1, 0.3, 0.2], [0.01, 0.02, 0.04], tau_prior="halfnormal",
    ...                tau_scale=0.5)
    >>> round(r.mu_median, 4), round(r.tau_median, 4), r.k
    (0.1835, 0.1391, 3)
    """
    y, v = _check_arrays(yi, vi)
    prior = make_tau_prior(tau_prior, tau_scale)
    mp = _check_mu_prior(mu_prior)
    level = _check_level(level)
    ths = _check_thresholds(thresholds)
    k = np.array([y.size])
    _check_propriety(k, prior, mp)
    tarr = np.array([ths]) if ths else None
    out = _summaries(
        y[None, :], v[None, :], np.ones((1, y.size), dtype=bool), prior, mp, level, tarr
    )
    p, m, sd = (a.copy() for a in out["_mixture"][0])
    for a in (p, m, sd):
        a.setflags(write=False)
    return BayesPoolResult(
        k=int(y.size),
        **{name: float(out[name][0]) for name in _NUMERIC},
        tau_prior=prior.label,
        tau_scale=prior.scale,
        mu_prior=mp,
        notes=_notes_for(
            int(y.size), prior, mp, bool(out["_has_mean"][0]), bool(out["_has_sd"][0])
        ),
        level=level,
        prob_mu_above={t: float(out["_above"][0, i]) for i, t in enumerate(ths)},
        _mixture=(p, m, sd),
    )


def bayes_prob_above(result: BayesPoolResult, threshold: float | Sequence[float]):
    """Posterior probability P(mu > threshold) from a :class:`BayesPoolResult`.

    Parameters
    ----------
    result : BayesPoolResult
        A result of :func:`bayes_pool` (it keeps the posterior of mu as a normal mixture).
    threshold : float or array_like
        One or more thresholds (e.g. a minimal important difference).

    Returns
    -------
    float or numpy.ndarray
        P(mu > t) for each threshold (a float for a scalar threshold).
    """
    if result._mixture is None:
        raise ValueError("this result carries no posterior mixture (build it with bayes_pool)")
    p, m, sd = result._mixture
    t = np.asarray(threshold, dtype=float)
    if not np.all(np.isfinite(t)):
        raise ValueError(f"threshold must be finite; got {threshold!r}")
    vals = (p * special.ndtr((m - t.reshape(-1, 1)) / sd)).sum(axis=1)
    return float(vals[0]) if t.ndim == 0 else vals.reshape(t.shape)


def _threshold_name(t: float) -> str:
    return f"prob_mu_above_{t:g}"


def bayes_pool_many(
    frame: pd.DataFrame,
    by: Hashable | Sequence[Hashable],
    yi: str = "yi",
    vi: str = "vi",
    *,
    tau_prior: str | tuple = "halfnormal",
    tau_scale: float | None = 0.5,
    mu_prior: tuple[float, float] | None = None,
    level: float = 0.95,
    thresholds: Sequence[float] | float | str = (),
) -> pd.DataFrame:
    """:func:`bayes_pool` for every group of rows of ``frame``, vectorised across groups.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table, one row per effect estimate.
    by : column name or list of column names
        Columns that identify an analysis.
    yi, vi : str
        Names of the estimate and sampling-variance columns.
    tau_prior, tau_scale, mu_prior, level
        As in :func:`bayes_pool`; the same for every analysis.
    thresholds : float, sequence of float, or str
        Thresholds t for P(mu > t): one column ``prob_mu_above_<t>`` per value; or the name of
        a column of ``frame`` holding one threshold per group (constant within the group),
        giving the column ``prob_mu_above_threshold``.

    Returns
    -------
    pandas.DataFrame
        One row per analysis, sorted by the ``by`` columns (missing keys last): the ``by``
        columns, then :data:`BAYES_FIELDS`, then the threshold columns. The numbers equal those
        of :func:`bayes_pool` on each group (the same arithmetic on the same grid).

    Raises
    ------
    KeyError
        If a named column is missing.
    ValueError
        As :func:`bayes_pool` (the message names the column, row label and group), for an
        empty frame, or for a threshold column that varies within a group.
    """
    # the helpers of pool_many: group numbering and positions within groups
    from ldn_evidence.meta.batch import (
        _bad_value_error,
        _group_numbers,
        _positions,
        checked_effects,
    )

    prior = make_tau_prior(tau_prior, tau_scale)
    mp = _check_mu_prior(mu_prior)
    level = _check_level(level)
    key_cols = [by] if isinstance(by, str) or not isinstance(by, Sequence) else list(by)
    th_col = thresholds if isinstance(thresholds, str) else None
    ths = () if th_col is not None else _check_thresholds(thresholds)
    extra = [th_col] if th_col else []
    y, v = checked_effects(frame, key_cols, yi, vi, "bayes_pool_many", extra)

    gid, in_order = _group_numbers(frame, key_cols)
    pos, first, sizes = _positions(gid, in_order)
    n_groups = first.size
    _check_propriety(sizes, prior, mp)
    k_max = int(sizes.max())
    ypad = np.zeros((n_groups, k_max))
    vpad = np.full((n_groups, k_max), np.inf)
    ypad[gid, pos] = y
    vpad[gid, pos] = v
    mask = np.arange(k_max)[None, :] < sizes[:, None]
    if th_col is not None:
        t = frame[th_col].to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(t)):
            raise _bad_value_error(
                frame, th_col, np.flatnonzero(~np.isfinite(t)), key_cols, "finite"
            )
        tg = t[first]
        if np.any(t != tg[gid]):
            raise ValueError(f"bayes_pool_many: column {th_col!r} varies within a group")
        tarr = tg[:, None]
        names = ["prob_mu_above_threshold"]
    else:
        tarr = np.tile(np.array(ths, dtype=float), (n_groups, 1)) if ths else None
        names = [_threshold_name(t) for t in ths]

    # analyses of equal k share a block (no padding work); blocks bound the memory
    order = np.argsort(sizes, kind="stable")
    cols = {name: np.empty(n_groups) for name in _NUMERIC}
    above = np.empty((n_groups, len(names)))
    has_mean = np.empty(n_groups, dtype=bool)
    has_sd = np.empty(n_groups, dtype=bool)
    for start in range(0, n_groups, _BLOCK):
        idx = order[start : start + _BLOCK]
        kb = int(sizes[idx].max())
        res = _summaries(
            ypad[idx, :kb],
            vpad[idx, :kb],
            mask[idx, :kb],
            prior,
            mp,
            level,
            None if tarr is None else tarr[idx],
        )
        for name in _NUMERIC:
            cols[name][idx] = res[name]
        if names:
            above[idx] = res["_above"]
        has_mean[idx] = res["_has_mean"]
        has_sd[idx] = res["_has_sd"]

    # notes depend only on (k, mean exists, sd exists): build each distinct one once
    code = sizes.astype(np.int64) * 4 + has_mean * 2 + has_sd
    uniq, inverse = np.unique(code, return_inverse=True)
    texts = np.empty(uniq.size, dtype=object)
    texts[:] = [_notes_for(int(c // 4), prior, mp, bool(c & 2), bool(c & 1)) for c in uniq]
    notes = texts[inverse]
    mp_col = np.empty(n_groups, dtype=object)
    mp_col[:] = [mp] * n_groups
    data = {
        "k": sizes.astype(np.int64),
        **cols,
        "tau_prior": np.full(n_groups, prior.label, dtype=object),
        "tau_scale": np.full(n_groups, prior.scale),
        "mu_prior": mp_col,
        "notes": notes,
    }
    for i, name in enumerate(names):
        data[name] = above[:, i]
    keys = frame[key_cols].iloc[first].reset_index(drop=True)
    result = pd.DataFrame(data)
    return pd.concat([keys, result], axis=1)
