"""The review's analyses for one condition: main results, sensitivity battery, narrative
synthesis of what cannot be pooled, and the comparison with published meta-analyses.

Every pooled number comes from :func:`ldn_evidence.meta.pool`; every effect from
:mod:`ldn_evidence.effects` (the correlation scenarios re-derive effects through
:func:`ldn_evidence.effects.normalize.derive_effects`, never by rescaling).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ldn_evidence.analysis.plan import Analysis
from ldn_evidence.analysis.select import select_members
from ldn_evidence.distributions import sign_test_p, wilson_interval
from ldn_evidence.effects.normalize import EffectSettings, derive_effects
from ldn_evidence.meta import POOL_FIELDS, pool
from ldn_evidence.vocab import CROSSOVER_DESIGNS

#: Correlations the sensitivity analysis re-derives crossover and pre-post effects with.
SENSITIVITY_CORRELATIONS = (0.3, 0.7)
#: Estimators of the estimator-swap scenarios (DerSimonian-Laird, Paule-Mandel, common effect).
SENSITIVITY_ESTIMATORS = ("DL", "PM", "EE")

_SCALE_LABEL = {
    "SMD": "Standardized mean difference (Hedges' g)",
    "MD": "Mean difference",
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "RD": "Risk difference",
    "SMCR": "Standardized mean change (baseline SD)",
    "SMCC": "Standardized mean change (change SD)",
    "SMCRP": "Standardized mean change (pooled SD)",
    "MC": "Mean change",
    "PLO": "Proportion (logit scale)",
}


@dataclass(frozen=True)
class PoolSettings:
    """How analyses are pooled (``analysis:`` in config/config.yaml)."""

    method: str = "REML"
    test: str = "knha"
    level: float = 0.95
    pi_method: str = "default"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> PoolSettings:
        mapping = dict(mapping or {})
        unknown = set(mapping) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown analysis settings: {sorted(unknown)}")
        return cls(**mapping)


# ---- one pooled result -----------------------------------------------------------------------


def pool_members(members: pd.DataFrame, settings: PoolSettings) -> tuple[dict, np.ndarray]:
    """Pool the member rows; return the result fields and each member's weight in percent.

    k = 1 gives the study's own estimate (``pooled`` False). Weights are the inverse of
    ``vi + tau^2`` (``vi`` for the common-effect model), as in the pooled mean.
    """
    return _pool(members.yi.to_numpy(float), members.vi.to_numpy(float), settings)


def _pool(yi: np.ndarray, vi: np.ndarray, settings: PoolSettings) -> tuple[dict, np.ndarray]:
    """:func:`pool_members` on the members' ``yi`` and ``vi``."""
    result = pool(
        yi,
        vi,
        method=settings.method,
        test=settings.test,
        level=settings.level,
        pi_method=settings.pi_method,
    )
    fields = result.as_dict()
    fields["notes"] = "; ".join(result.notes)
    tau2 = result.tau2 if math.isfinite(result.tau2) else 0.0
    w = 1 / (vi + tau2)
    weights = 100 * w / w.sum()
    fields["pooled"] = len(yi) >= 2
    if len(yi) == 1:
        fields["notes"] = "; ".join(
            n for n in ("a single study: its own effect, not pooled", fields["notes"]) if n
        )
    return fields, weights


def participants(members: pd.DataFrame) -> int | None:
    """Participants in the members: crossover and single-group rows count people once."""
    return _participants(
        members.n_ldn.to_numpy(float, na_value=math.nan),
        members.n_ctl.to_numpy(float, na_value=math.nan),
        members.design.tolist(),
    )


def _participants(n_ldn, n_ctl, designs) -> int | None:
    """:func:`participants` on the members' ``n_ldn``, ``n_ctl`` and ``design``."""
    total = 0
    for n1, n2, design in zip(n_ldn, n_ctl, designs, strict=True):
        if not math.isfinite(n1):
            return None
        paired = design in CROSSOVER_DESIGNS or not math.isfinite(n2)
        total += int(n1) if paired else int(n1 + n2)
    return total


# ---- the analysis run ------------------------------------------------------------------------


class _Table:
    """A table whose columns are read as plain lists, each converted once (per-row access
    to a frame, and a frame per subset of its rows, are slow)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._lists: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> list:
        if name not in self._lists:
            self._lists[name] = self.frame[name].tolist()
        return self._lists[name]

    def rows(self, positions: Sequence[int] | None = None) -> _Rows:
        return _Rows(self, tuple(range(len(self)) if positions is None else positions))


@dataclass(frozen=True)
class _Rows:
    """Some rows of a :class:`_Table`, by position (taken out of the table only at the end,
    for the members table)."""

    table: _Table
    positions: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.positions)

    def column(self, name: str) -> list:
        values = self.table.column(name)
        return [values[p] for p in self.positions]

    def where(self, name: str, keep: Callable[[Any], bool]) -> _Rows:
        """The rows whose value in column ``name`` passes ``keep``."""
        values = self.table.column(name)
        return _Rows(self.table, tuple(p for p in self.positions if keep(values[p])))

    def floats(self, name: str) -> np.ndarray:
        """A numeric column as floats (a missing value NaN)."""
        return np.array([_float(v) for v in self.column(name)], dtype=float)


def _float(value: Any) -> float:
    return math.nan if value is None or value is pd.NA else float(value)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    members: _Rows | None
    settings: PoolSettings
    note: str = ""
    compare_members: bool = True  # "unchanged" when the member set equals the main one


def _key(members: pd.DataFrame | _Rows) -> frozenset:
    if isinstance(members, _Rows):
        return frozenset(zip(members.column("study_id"), members.column("outcome_id"), strict=True))
    return frozenset(zip(members.study_id, members.outcome_id, strict=True))


def run_condition(
    analyses: Sequence[Analysis],
    effects: pd.DataFrame,
    studies: pd.DataFrame,
    outcomes: pd.DataFrame,
    effect_settings: EffectSettings,
    pool_settings: PoolSettings,
    published: pd.DataFrame | None = None,
    bayes: BayesSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """Every planned analysis of one condition with its scenarios, members and narrative."""
    primary = frozenset(
        (study, outcome)
        for study, outcome, notes in zip(
            outcomes.study_id, outcomes.outcome_id, outcomes.notes, strict=True
        )
        if isinstance(notes, str) and "primary outcome" in notes.lower()
    )
    lists: dict[str, list] = {}  # the effects' columns as lists, for every selection
    mains = [_Main.of(select_members(effects, a, primary, lists=lists)) for a in analyses]
    # the correlation scenarios look up the effects of every analysis with a correlation-
    # dependent member: re-derive those outcomes only
    needed = {key for main in mains if main.depends for key in main.key}
    rederived = _Rederived(outcomes, studies, effect_settings, needed)
    rows: list[dict[str, Any]] = []
    member_rows: list[_Members] = []
    labels = {
        study: _study_label(study, year)
        for study, year in zip(studies.id, studies.year, strict=True)
    }
    for analysis, summary in zip(analyses, mains, strict=True):
        main = summary.frame
        first = len(rows)
        scenarios = _scenarios(analysis, summary, effects, lists, rederived, primary, pool_settings)
        for scenario in scenarios:
            row, members = _run_scenario(analysis, scenario, summary, labels)
            rows.append(row)
            if members is not None:
                member_rows.append(members)
        if bayes is not None and len(main) >= 1:
            bayes_row = _bayes_row(analysis, main, bayes)
            rows.append(bayes_row)
            if len(main) <= bayes.max_k_probabilities and bayes_row["scenario_status"] == "ok":
                rows[first].update({k: bayes_row[k] for k in bayes_row if k.startswith("bayes_")})
    analyses_frame = _analyses_frame(rows)
    members_frame = _members_frame(member_rows)
    narrative = narrative_synthesis(effects, members_frame, analyses_frame, studies, outcomes)
    votes = vote_counts(narrative)
    comparison = published_comparison(analyses, analyses_frame, members_frame, published)
    return {
        "analyses": analyses_frame,
        "analysis_members": members_frame,
        "narrative": narrative,
        "vote_counts": votes,
        "published_comparison": comparison,
    }


@dataclass(frozen=True)
class _Main:
    """An analysis's main members and what every scenario reads of them (computed once)."""

    frame: pd.DataFrame
    rows: _Rows  # all of them
    key: frozenset  # (study id, outcome id) of each member
    depends: bool  # an effect depends on an imputed correlation
    better_direction: str | None
    subgroup_by: str | None  # "design" when the main analysis has subgroups by design

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _Main:
        rows = _Table(frame).rows()
        designs = set(rows.column("design"))
        return cls(
            frame=frame,
            rows=rows,
            key=_key(rows),
            depends=any(isinstance(d, str) for d in rows.column("depends_on")),
            better_direction=_better_direction(frame),
            subgroup_by="design" if len(frame) >= 2 and len(designs) >= 2 else None,
        )


class _Rederived:
    """The effects re-derived with each sensitivity correlation, on first use, each once.

    Only the outcomes in ``needed`` ((study id, outcome id) pairs) are re-derived: each
    outcome's effects come from its own row and its study's
    (:func:`ldn_evidence.effects.normalize.derive_effects`), so the rows are those of the
    whole table except ``outcome_order``, which the scenarios do not read.
    ``index[r]`` maps (study id, outcome id, measure) to the rows of ``frame(r)`` in order.
    """

    def __init__(
        self,
        outcomes: pd.DataFrame,
        studies: pd.DataFrame,
        settings: EffectSettings,
        needed: set[tuple[str, str]],
    ):
        keys = zip(outcomes.study_id, outcomes.outcome_id, strict=True)
        self._args = (outcomes[[key in needed for key in keys]], studies, settings)
        self._frames: dict[float, pd.DataFrame] = {}
        self.index: dict[float, dict[tuple[str, str, str], list[int]]] = {}

    def frame(self, r: float) -> pd.DataFrame:
        if r not in self._frames:
            outcomes, studies, settings = self._args
            again = derive_effects(
                outcomes,
                studies,
                replace(settings, crossover_correlation=r, prepost_correlation=r),
            )
            index: dict[tuple[str, str, str], list[int]] = {}
            keys = zip(again.study_id, again.outcome_id, again.measure, strict=True)
            for position, key in enumerate(keys):
                index.setdefault(key, []).append(position)
            self._frames[r], self.index[r] = again, index
        return self._frames[r]

    def rows(self, r: float, keys: list[tuple[str, str, str]]) -> pd.DataFrame:
        """The rows of each (study id, outcome id, measure) in ``keys``, in that order."""
        again = self.frame(r)
        positions = [p for key in keys for p in self.index[r].get(key, [])]
        return again.take(positions).reset_index(drop=True)


def _study_label(study_id, year) -> str:
    year = year if isinstance(year, int | np.integer) else None
    name = str(study_id)
    return f"{name}" if year is None or str(year) in name else f"{name} ({year})"


def _scenarios(analysis, summary: _Main, effects, lists, rederived, primary, settings):
    main, rows = summary.frame, summary.rows
    study_ids = rows.column("study_id")

    def studies_where(name: str, keep: Callable[[Any], bool]) -> str:
        return ", ".join(rows.where(name, keep).column("study_id")) or "none"

    yield Scenario("main", "Main analysis", rows, settings, compare_members=False)
    if len(main) < 2:
        return
    designs = sorted(set(rows.column("design")))
    if len(designs) >= 2:
        for design in designs:
            yield Scenario(
                f"subgroup:{design}",
                f"Subgroup: {design.replace('_', ' ')}",
                rows.where("design", lambda d, design=design: d == design),
                settings,
                compare_members=False,
            )
    for study in study_ids:
        yield Scenario(
            f"leave_out:{study}",
            f"Leaving out {study}",
            rows.where("study_id", lambda s, study=study: s != study),
            settings,
        )
    if analysis.stratum == "randomized_between_arm":
        extra = select_members(
            effects, analysis, primary, stratum="nonrandomized_between_arm", lists=lists
        )
        note = (
            "non-randomized between-arm comparisons added (labelled in the members)"
            if not extra.empty
            else "no non-randomized comparison reports this outcome"
        )
        yield Scenario(
            "add_nonrandomized",
            "With non-randomized comparisons added",
            _Table(pd.concat([main, extra], ignore_index=True)).rows() if not extra.empty else rows,
            settings,
            note,
        )
    # a row with a missing dose flag, risk of bias or tier is in neither the subset nor the
    # note's list (as with a mask holding NA)
    yield Scenario(
        "exclude_dose_above_4_5mg",
        "Excluding doses above 4.5 mg/day",
        rows.where("dose_above_ldn_range", lambda above: above is False or above is np.False_),
        settings,
        "studies with doses above 4.5 mg/day left out: "
        + studies_where("dose_above_ldn_range", lambda above: above is True or above is np.True_),
    )
    yield Scenario(
        "exclude_high_rob",
        "Excluding high risk of bias",
        rows.where("rob_overall", lambda rob: isinstance(rob, str) and rob != "high"),
        settings,
        "studies at high risk of bias left out: "
        + studies_where("rob_overall", lambda rob: isinstance(rob, str) and rob == "high"),
    )
    yield Scenario(
        "tiers_a_to_c",
        "Highest tiers only (A-C)",
        rows.where("tier", lambda tier: isinstance(tier, str) and tier in ("A", "B", "C")),
        settings,
        "effects from p-values or percentages (tiers D-E) left out: "
        + studies_where("tier", lambda tier: isinstance(tier, str) and tier in ("D", "E")),
    )
    for method in SENSITIVITY_ESTIMATORS:
        if method != settings.method:
            yield Scenario(
                f"estimator:{method}",
                f"Estimator {method}",
                rows,
                replace(settings, method=method),
                compare_members=False,
            )
    if settings.test != "z":
        yield Scenario(
            "test:z",
            "Wald z test instead of Hartung-Knapp",
            rows,
            replace(settings, test="z"),
            compare_members=False,
        )
    depends = summary.depends
    keys = list(zip(study_ids, rows.column("outcome_id"), rows.column("measure"), strict=True))
    for r in SENSITIVITY_CORRELATIONS:
        picked = (
            _Table(
                rederived.rows(r, keys).merge(
                    main[["study_id", "outcome_id", "selection_reason"]],
                    on=["study_id", "outcome_id"],
                )
            ).rows()
            if depends
            else rows
        )
        yield Scenario(
            f"correlation:{r:g}",
            f"Crossover and pre-post correlation r = {r:g}",
            picked,
            settings,
            (
                f"effects re-derived with r = {r:g}: "
                + studies_where("depends_on", lambda d: isinstance(d, str))
                if depends
                else "no effect in this analysis depends on an imputed correlation"
            ),
            compare_members=not depends,
        )


@dataclass(frozen=True)
class _Members:
    """One scenario's members and the columns the members table adds to them."""

    rows: _Rows
    analysis_id: str
    scenario: str
    weight_percent: np.ndarray
    label: list[str]
    subgroup: list | None  # each member's design, when the scenario has subgroups


def _run_scenario(analysis, scenario, summary: _Main, labels):
    base = {
        "analysis_id": analysis.id,
        "scenario": scenario.name,
        "scenario_label": scenario.label,
        "title": analysis.title,
        "condition": analysis.condition,
        "domain": ", ".join(analysis.domains),
        "measure": analysis.measure,
        "stratum": analysis.stratum,
        "scale_label": _SCALE_LABEL[analysis.measure],
        "favours_label_positive": "favours LDN" if analysis.measure != "PLO" else "",
        "favours_label_negative": "favours control" if analysis.measure != "PLO" else "",
        "scenario_note": scenario.note,
        "better_direction": summary.better_direction,
    }
    members = scenario.members
    if members is None or len(members) == 0:
        return {
            **base,
            "k": 0,
            "scenario_status": "not_applicable",
            "scenario_note": _join(scenario.note, "no study in this analysis"),
        }, None
    if scenario.name != "main" and scenario.compare_members and _key(members) == summary.key:
        return {
            **base,
            "k": len(members),
            "scenario_status": "unchanged",
            "scenario_note": _join(scenario.note, "same studies as the main analysis"),
        }, None
    if scenario.name != "main" and not scenario.name.startswith("subgroup:") and len(members) < 2:
        return {
            **base,
            "k": len(members),
            "scenario_status": "not_applicable",
            "scenario_note": _join(scenario.note, f"k = {len(members)}: nothing to pool"),
        }, None
    fields, weights = _pool(members.floats("yi"), members.floats("vi"), scenario.settings)
    subgroup_by = summary.subgroup_by if scenario.name == "main" else None
    finite = all(math.isfinite(fields.get(k, math.nan)) for k in ("estimate", "ci_low", "ci_high"))
    if not finite:
        # e.g. DerSimonian-Laird on effects of wildly different size and precision: tau2 = inf
        base["scenario_note"] = _join(
            scenario.note, "no finite pooled estimate (effects or variances too extreme)"
        )
    row = {
        **base,
        **fields,
        "n_participants": _participants(
            members.floats("n_ldn"), members.floats("n_ctl"), members.column("design")
        ),
        "scenario_status": "ok" if finite else "failed",
        "subgroup_by": subgroup_by,
        **_reexpress(analysis, fields),
    }
    member_frame = _Members(
        members,
        analysis_id=analysis.id,
        scenario=scenario.name,
        weight_percent=weights,
        label=[labels.get(s, s) for s in members.column("study_id")],
        subgroup=(
            members.column("design")
            if subgroup_by or scenario.name.startswith("subgroup:")
            else None
        ),
    )
    return row, member_frame


def _better_direction(members: pd.DataFrame) -> str | None:
    """The outcomes' better direction when all members agree (for natural-scale displays)."""
    values = set(members.better_direction.dropna()) if "better_direction" in members else set()
    return values.pop() if len(values) == 1 else None


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _reexpress(analysis: Analysis, fields: Mapping[str, Any]) -> dict[str, Any]:
    """An SMD times a typical SD of a familiar scale (Cochrane Handbook 15.5.3.2)."""
    ref = analysis.reference_sd
    if not ref or analysis.measure not in ("SMD", "SMCR", "SMCC", "SMCRP"):
        return {}
    sd = float(ref["value"])
    return {
        "reference_sd": sd,
        "reference_sd_unit": ref["unit"],
        "reference_sd_source": ref["source"],
        "familiar_estimate": fields["estimate"] * sd,
        "familiar_ci_low": fields["ci_low"] * sd,
        "familiar_ci_high": fields["ci_high"] * sd,
    }


@dataclass(frozen=True)
class BayesSettings:
    """The Bayesian scenario (``bayes:`` in config/config.yaml).

    Half-normal(0.5) on tau is the weakly informative default for standardized and log-ratio
    scales (Röver et al. 2021, Res Synth Methods 12:448; Friede et al. 2017): it gives most
    prior mass to "reasonable" heterogeneity (tau below 1) without ruling out more. Measures on
    a unit scale of their own (MD, MC) get no default prior scale, so no Bayesian scenario.
    ``important``: the effect on the analysis scale whose posterior probability of being
    exceeded is reported (SMD 0.2, Cohen's "small", as a rule of thumb; log(1.25) for ratios,
    GRADE's rough guide of appreciable benefit).
    """

    tau_prior: str = "halfnormal"
    tau_scale: float = 0.5
    measures: tuple[str, ...] = ("SMD", "SMCR", "SMCC", "SMCRP", "RR", "OR", "PLO")
    important: Mapping[str, float] = field(
        default_factory=lambda: {
            "SMD": 0.2,
            "SMCR": 0.2,
            "SMCC": 0.2,
            "SMCRP": 0.2,
            "RR": 0.223,
            "OR": 0.223,
        }
    )
    max_k_probabilities: int = 4

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> BayesSettings:
        mapping = dict(mapping or {})
        unknown = set(mapping) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown bayes settings: {sorted(unknown)}")
        if "measures" in mapping:
            mapping["measures"] = tuple(mapping["measures"])
        return cls(**mapping)


def _bayes_row(analysis: Analysis, main: pd.DataFrame, settings: BayesSettings) -> dict[str, Any]:
    """The Bayesian random-effects scenario (:func:`ldn_evidence.meta.bayes.bayes_pool`)."""
    from ldn_evidence.meta.bayes import bayes_pool

    base = {
        "analysis_id": analysis.id,
        "scenario": "bayes",
        "scenario_label": (
            f"Bayesian random effects, {settings.tau_prior}({settings.tau_scale:g}) prior on tau"
        ),
        "title": analysis.title,
        "condition": analysis.condition,
        "domain": ", ".join(analysis.domains),
        "measure": analysis.measure,
        "stratum": analysis.stratum,
        "better_direction": _better_direction(main),
        "k": len(main),
    }
    if analysis.measure not in settings.measures:
        return {
            **base,
            "scenario_status": "not_applicable",
            "scenario_note": f"no default prior scale for tau on the {analysis.measure} scale "
            "(unstandardized units)",
        }
    important = settings.important.get(analysis.measure)
    result = bayes_pool(
        main.yi.to_numpy(float),
        main.vi.to_numpy(float),
        tau_prior=settings.tau_prior,
        tau_scale=settings.tau_scale,
        thresholds=(important,) if important is not None else (),
    )
    above = result.prob_mu_above.get(important, math.nan) if important is not None else math.nan
    return {
        **base,
        "scenario_status": "ok",
        "scenario_note": "posterior median and 95% credible interval of mu; predictive interval "
        "of a new study's effect" + (f"; {'; '.join(result.notes)}" if result.notes else ""),
        "estimate": result.mu_median,
        "ci_low": result.mu_ci_low,
        "ci_high": result.mu_ci_high,
        "pi_low": result.pred_low,
        "pi_high": result.pred_high,
        "method": f"bayes {settings.tau_prior}({settings.tau_scale:g})",
        "level": result.level,
        "notes": "; ".join(result.notes),
        "bayes_mu_mean": result.mu_mean,
        "bayes_mu_sd": result.mu_sd,
        "bayes_tau_median": result.tau_median,
        "bayes_tau_upper95": result.tau_upper95,
        "bayes_prob_positive": result.prob_mu_positive,
        "bayes_important": important if important is not None else math.nan,
        "bayes_prob_above_important": above,
    }


_ANALYSIS_COLUMNS = {
    "analysis_id": "string",
    "scenario": "string",
    "scenario_label": "string",
    "scenario_status": "string",
    "scenario_note": "string",
    "title": "string",
    "condition": "string",
    "domain": "string",
    "measure": "string",
    "stratum": "string",
    "k": "int64",
    "n_participants": "Int64",
    "pooled": "boolean",
    **{f: "float64" for f in POOL_FIELDS},
    "method": "string",
    "test": "string",
    "converged": "boolean",
    "notes": "string",
    "tau2_estimator": "string",
    "iterations": "Int64",
    "ci_method": "string",
    "pi_method": "string",
    "tau2_ci_method": "string",
    "subgroup_by": "string",
    "scale_label": "string",
    "better_direction": "string",
    "favours_label_positive": "string",
    "favours_label_negative": "string",
    "reference_sd": "float64",
    "reference_sd_unit": "string",
    "reference_sd_source": "string",
    "familiar_estimate": "float64",
    "familiar_ci_low": "float64",
    "familiar_ci_high": "float64",
}
_ANALYSIS_COLUMNS["k"] = "int64"


def _analyses_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    extra = sorted({k for r in rows for k in r} - set(_ANALYSIS_COLUMNS))
    columns = {**_ANALYSIS_COLUMNS, **{k: "float64" for k in extra if k.startswith("bayes_")}}
    columns.update({k: "string" for k in extra if not k.startswith("bayes_")})
    # column by column (a missing field is NaN, as in a frame built from the rows)
    return pd.DataFrame(
        {
            column: pd.Series([r.get(column, math.nan) for r in rows], dtype=object).astype(dtype)
            for column, dtype in columns.items()
        },
        columns=list(columns),
    )


_MEMBER_COLUMNS = [
    "analysis_id",
    "scenario",
    "study_id",
    "outcome_id",
    "outcome",
    "label",
    "design",
    "randomized",
    "stratum",
    "subgroup",
    "measure",
    "yi",
    "vi",
    "se",
    "ci_low",
    "ci_high",
    "weight_percent",
    "tier",
    "derivation",
    "assumptions",
    "caveats",
    "n_ldn",
    "n_ctl",
    "events_ldn",
    "events_ctl",
    "proportion",
    "proportion_ci_low",
    "proportion_ci_high",
    "dose_mg_per_day",
    "dose_above_ldn_range",
    "rob_overall",
    "source_quality",
    "selective_reporting_risk",
    "depends_on",
    "choice",
    "selection_reason",
    "source_url",
    "source_quote",
    "source_quote2",
    "source_location",
]


def _members_frame(parts: list[_Members]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _MEMBER_COLUMNS})
    # each source table's rows once (its member columns, stacked), then every scenario's
    # rows in order: one frame per scenario is slow
    tables: dict[int, _Table] = {}
    for p in parts:
        tables.setdefault(id(p.rows.table), p.rows.table)
    start, offset = {}, 0
    for key, table in tables.items():
        start[key] = offset
        offset += len(table)
    frames = [t.frame for t in tables.values()]
    if all(f.columns.equals(frames[0].columns) for f in frames):
        # the same columns (as usual): stack, then keep the member columns, once
        stacked = pd.concat(frames, ignore_index=True).reindex(columns=_MEMBER_COLUMNS)
    else:
        stacked = pd.concat([f.reindex(columns=_MEMBER_COLUMNS) for f in frames], ignore_index=True)
    order = [start[id(p.rows.table)] + i for p in parts for i in p.rows.positions]
    frame = stacked.take(order).reset_index(drop=True)
    # the added columns once for all scenarios
    frame["analysis_id"] = [p.analysis_id for p in parts for _ in p.rows.positions]
    frame["scenario"] = [p.scenario for p in parts for _ in p.rows.positions]
    frame["weight_percent"] = np.concatenate([p.weight_percent for p in parts])
    frame["label"] = [label for p in parts for label in p.label]
    frame["subgroup"] = pd.Series(
        [g for p in parts for g in (p.subgroup or [None] * len(p.rows))], dtype=object
    )
    for column in ("n_ldn", "n_ctl", "events_ldn", "events_ctl"):
        frame[column] = frame[column].round().astype("Int64")
    frame["subgroup"] = frame["subgroup"].astype("string")
    return frame


# ---- narrative synthesis ---------------------------------------------------------------------

_DIRECTIONS = ("better_with_ldn", "worse_with_ldn", "no_clear_difference", "not_reported")


def _direction(row, reported: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Direction of effect of one outcome and the rule that gave it (SWiM; Cochrane 12.2.2:
    the direction of the point estimate, whatever its significance).

    In order: the sign of the effect size; the source's words (``direction_reported``); the
    sign of a difference in the reported numbers (:func:`_direction_from_numbers`).
    """
    if row.tier != "F" and row.measure != "PLO" and math.isfinite(row.yi):
        if row.yi > 0:
            return "better_with_ldn", f"sign of the effect ({row.measure} {row.yi:.3g} > 0)"
        if row.yi < 0:
            return "worse_with_ldn", f"sign of the effect ({row.measure} {row.yi:.3g} < 0)"
        return "no_clear_difference", "effect exactly 0"
    if isinstance(row.direction_reported, str) and row.direction_reported:
        return row.direction_reported, "as the source words it (direction_reported)"
    if reported is not None:
        found = _direction_from_numbers(reported, row.stratum)
        if found is not None:
            return found
    return "not_reported", "no direction can be read from the numbers or the words"


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


#: The fields of an outcome row :func:`_direction_from_numbers` reads.
_NUMBER_FIELDS = (
    "better_direction",
    "mean_ldn",
    "mean_ctl",
    "mean_change_ldn",
    "mean_change_ctl",
    "pct_ldn",
    "pct_ctl",
    "events_ldn",
    "total_ldn",
    "events_ctl",
    "total_ctl",
    "mean_baseline_ldn",
)


def _direction_from_numbers(outcome: Mapping[str, Any], stratum: str) -> tuple[str, str] | None:
    """The direction of a difference in the reported numbers, when no effect size exists.

    Between arms: LDN minus comparator in means, changes, percentages or risks. Within a group
    (no comparator): follow-up minus baseline, or the reported change. The sign is read with
    the outcome's better direction; "improvement_reported" changes count as improvements.
    """
    better = outcome.get("better_direction")
    pairs = []
    if stratum in ("randomized_between_arm", "nonrandomized_between_arm"):
        for a, b, what in (
            ("mean_ldn", "mean_ctl", "means"),
            ("mean_change_ldn", "mean_change_ctl", "mean changes"),
            ("pct_ldn", "pct_ctl", "percentages"),
        ):
            pairs.append((_num(outcome.get(a)) - _num(outcome.get(b)), what))
        events = [
            _num(outcome.get(k)) for k in ("events_ldn", "total_ldn", "events_ctl", "total_ctl")
        ]
        if all(math.isfinite(x) for x in events) and events[1] and events[3]:
            pairs.append((events[0] / events[1] - events[2] / events[3], "risks"))
    elif stratum in ("within_group_pre_post", "observational_before_after"):
        pairs.append(
            (
                _num(outcome.get("mean_ldn")) - _num(outcome.get("mean_baseline_ldn")),
                "means (follow-up minus baseline)",
            )
        )
        pairs.append((_num(outcome.get("mean_change_ldn")), "change"))
    for difference, what in pairs:
        if not math.isfinite(difference):
            continue
        if difference == 0:
            return "no_clear_difference", f"no difference in the reported {what}"
        if better == "improvement_reported":
            improved = difference > 0
        elif better in ("higher", "lower"):
            improved = (difference > 0) == (better == "higher")
        else:
            return None
        direction = "better_with_ldn" if improved else "worse_with_ldn"
        return direction, (
            f"sign of the difference in the reported {what} ({difference:+.3g}; {better} is "
            "better); no effect size"
        )
    return None


def narrative_synthesis(
    effects: pd.DataFrame,
    members: pd.DataFrame,
    analyses: pd.DataFrame,
    studies: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every outcome not in a pooled main analysis, with its direction and why not pooled."""
    reported = {}
    if outcomes is not None:
        # only the fields the direction reads (a record of every column is slow)
        fields = [c for c in _NUMBER_FIELDS if c in outcomes.columns]
        reported = {
            key: record
            for key, record in zip(
                zip(outcomes.study_id, outcomes.outcome_id, strict=True),
                outcomes[fields].to_dict("records"),
                strict=True,
            )
        }
    main = analyses[analyses.scenario == "main"]
    pooled_ids = set(main.analysis_id[main.k >= 2])
    in_main = members[members.scenario == "main"]
    in_main_rows = list(
        zip(in_main.study_id, in_main.outcome_id, in_main.analysis_id.tolist(), strict=True)
    )
    pooled = {(s, o) for s, o, a in in_main_rows if a in pooled_ids}
    single = {(s, o): a for s, o, a in in_main_rows if a not in pooled_ids}
    rows = []
    first = effects.sort_values(["study_id", "outcome_order", "tier"]).drop_duplicates(
        ["study_id", "outcome_id"]
    )
    for row in first.itertuples():
        key = (row.study_id, row.outcome_id)
        if key in pooled:
            continue
        direction, basis = _direction(row, reported.get(key))
        if row.inclusion_status == "exclude":
            disposition, reason = "excluded_study", row.not_computable_reason
        elif key in single:
            disposition = "single_study_analysis"
            reason = f"the only study in analysis {single[key]}"
        else:
            disposition = "narrative_only"
            reason = (
                row.not_computable_reason
                if row.tier == "F"
                else "not selected by any analysis of the plan (another outcome of the study "
                "represents it, or the plan has no analysis for it)"
            )
        comparative = row.stratum in ("randomized_between_arm", "nonrandomized_between_arm")
        counted = (
            disposition != "excluded_study"
            and direction != "not_reported"
            and (row.stratum != "single_arm_proportion")
        )
        n = row.n_ldn if math.isfinite(row.n_ldn) else math.nan
        if comparative and math.isfinite(row.n_ctl) and row.design not in CROSSOVER_DESIGNS:
            n = n + row.n_ctl
        rows.append(
            {
                "condition": row.condition,
                "study_id": row.study_id,
                "outcome_id": row.outcome_id,
                "outcome": row.outcome,
                "domain": row.domain,
                "design": row.design,
                "stratum": row.stratum,
                "comparison_group": "controlled" if comparative else "uncontrolled",
                "disposition": disposition,
                "direction": direction,
                "direction_basis": basis,
                "counted_in_vote": counted,
                "n_participants": n,
                "rob_overall": row.rob_overall,
                "tier": row.tier,
                "reason_not_pooled": reason,
                "source_quote": row.source_quote,
            }
        )
    frame = pd.DataFrame(rows, columns=_NARRATIVE_COLUMNS)
    if frame.empty:
        return frame
    frame["n_participants"] = frame["n_participants"].round().astype("Int64")
    return frame.sort_values(["domain", "study_id", "outcome_id"]).reset_index(drop=True)


def vote_counts(narrative: pd.DataFrame) -> pd.DataFrame:
    """Vote counting by direction of effect (Cochrane Handbook 12.2.2.5), per domain and
    comparison group: one vote per study (its outcomes' direction if they agree, else mixed),
    a two-sided sign test of better against worse, and the proportion better with its Wilson
    95% CI (:mod:`ldn_evidence.distributions`: ``sign_test_p``, ``wilson_interval``)."""
    rows = []
    if narrative.empty:
        return pd.DataFrame(columns=_VOTE_COLUMNS)
    # {(domain, comparison group): {study: its outcomes' directions}}, from plain lists
    groups: dict[tuple[str, str], dict[str, set[str]]] = {}
    for counted, domain, group, study, direction in zip(
        narrative.counted_in_vote.tolist(),
        narrative.domain.tolist(),
        narrative.comparison_group.tolist(),
        narrative.study_id.tolist(),
        narrative.direction.tolist(),
        strict=True,
    ):
        if counted and all(isinstance(v, str) for v in (domain, group, study)):
            groups.setdefault((domain, group), {}).setdefault(study, set()).add(direction)
    for (domain, group), studies in sorted(groups.items()):
        votes = {}
        for study, directions in sorted(studies.items()):
            votes[study] = next(iter(directions)) if len(directions) == 1 else "mixed"
        better = sum(v == "better_with_ldn" for v in votes.values())
        worse = sum(v == "worse_with_ldn" for v in votes.values())
        decided = better + worse
        p = sign_test_p(better, decided) if decided else math.nan
        low, high = wilson_interval(better, decided) if decided else (math.nan,) * 2
        rows.append(
            {
                "domain": domain,
                "comparison_group": group,
                "studies": len(votes),
                "better_with_ldn": better,
                "worse_with_ldn": worse,
                "no_clear_difference": sum(v == "no_clear_difference" for v in votes.values()),
                "mixed": sum(v == "mixed" for v in votes.values()),
                "proportion_better": better / decided if decided else math.nan,
                "proportion_ci_low": float(low),
                "proportion_ci_high": float(high),
                "sign_test_p": float(p),
                "votes": "; ".join(f"{k}: {v}" for k, v in votes.items()),
                "rule": "one vote per study by the direction of its point estimate or its "
                "stated direction; studies with no clear difference or mixed directions are "
                "not counted in the sign test",
            }
        )
    return pd.DataFrame(rows, columns=_VOTE_COLUMNS)


# ---- published meta-analyses -----------------------------------------------------------------


def published_comparison(analyses, analyses_frame, members, published) -> pd.DataFrame:
    """Each published pooled result the plan maps to an analysis, beside ours, on our sign
    convention (positive = better with LDN), with the likely reasons they differ."""
    rows = []
    if published is None:
        return pd.DataFrame(columns=_COMPARISON_COLUMNS)
    # each analysis's main row, the fields compared (plain lists: row access is slow)
    main: dict[str, dict[str, Any]] = {}
    fields = ("estimate", "ci_low", "ci_high", "k")
    for analysis_id, scenario, *values in zip(
        analyses_frame.analysis_id.tolist(),
        analyses_frame.scenario.tolist(),
        *(analyses_frame[f].tolist() for f in fields),
        strict=True,
    ):
        if scenario == "main":
            main.setdefault(analysis_id, dict(zip(fields, values, strict=True)))
    for analysis in analyses:
        if analysis.id not in main or not analysis.published:
            continue
        ours = main[analysis.id]
        mine = members[(members.analysis_id == analysis.id) & (members.scenario == "main")]
        for link in analysis.published:
            hit = published[
                (published.review_id == link["review_id"]) & (published.outcome == link["outcome"])
            ]
            if hit.empty:
                rows.append(
                    {
                        "analysis_id": analysis.id,
                        "review_id": link["review_id"],
                        "their_outcome": link["outcome"],
                        "reasons": "not found in data/reference/meta_analyses.csv",
                    }
                )
                continue
            theirs = hit.iloc[0]
            flip = -1.0 if link.get("lower_is_better", False) else 1.0
            value, lo, hi = (flip * float(theirs[c]) for c in ("effect_value", "ci_low", "ci_high"))
            if flip < 0:
                lo, hi = hi, lo
            rows.append(
                {
                    "analysis_id": analysis.id,
                    "review_id": theirs.review_id,
                    "their_outcome": theirs.outcome,
                    "their_effect_type": theirs.effect_type,
                    "their_estimate": value,
                    "their_ci_low": lo,
                    "their_ci_high": hi,
                    "their_k": str(theirs.k_studies),
                    "their_designs": theirs.included_designs,
                    "our_measure": analysis.measure,
                    "our_estimate": ours["estimate"],
                    "our_ci_low": ours["ci_low"],
                    "our_ci_high": ours["ci_high"],
                    "our_k": int(ours["k"]),
                    "our_studies": ", ".join(mine.study_id),
                    "same_scale": theirs.effect_type.split(" ")[0] == analysis.measure,
                    "reasons": _reasons(mine, theirs, analysis, link),
                    "source_url": theirs.source_url,
                    "quote": theirs.quote,
                }
            )
    return pd.DataFrame(rows, columns=_COMPARISON_COLUMNS)


_NARRATIVE_COLUMNS = [
    "condition",
    "study_id",
    "outcome_id",
    "outcome",
    "domain",
    "design",
    "stratum",
    "comparison_group",
    "disposition",
    "direction",
    "direction_basis",
    "counted_in_vote",
    "n_participants",
    "rob_overall",
    "tier",
    "reason_not_pooled",
    "source_quote",
]
_COMPARISON_COLUMNS = [
    "analysis_id",
    "review_id",
    "their_outcome",
    "their_effect_type",
    "their_estimate",
    "their_ci_low",
    "their_ci_high",
    "their_k",
    "their_designs",
    "our_measure",
    "our_estimate",
    "our_ci_low",
    "our_ci_high",
    "our_k",
    "our_studies",
    "same_scale",
    "reasons",
    "source_url",
    "quote",
]
_VOTE_COLUMNS = [
    "domain",
    "comparison_group",
    "studies",
    "better_with_ldn",
    "worse_with_ldn",
    "no_clear_difference",
    "mixed",
    "proportion_better",
    "proportion_ci_low",
    "proportion_ci_high",
    "sign_test_p",
    "votes",
    "rule",
]


def _reasons(mine: pd.DataFrame, theirs, analysis: Analysis, link) -> str:
    reasons = []
    if str(theirs.k_studies) != str(len(mine)):
        reasons.append(f"different number of studies (theirs {theirs.k_studies}, ours {len(mine)})")
    if mine.dose_above_ldn_range.any():
        reasons.append(
            "ours includes doses above 4.5 mg/day: "
            + ", ".join(mine.study_id[mine.dose_above_ldn_range])
        )
    if mine.design.isin(["crossover_rct"]).any():
        reasons.append("crossover trials analysed as paired with an imputed correlation")
    if mine.tier.isin(["D", "E"]).any():
        reasons.append("some of our effects come from p-values or percentages (tiers D-E)")
    if (mine.choice.notna() if "choice" in mine else pd.Series(dtype=bool)).any():
        reasons.append("we use trials' adjusted estimates where reported")
    if theirs.effect_type.split(" ")[0] != analysis.measure:
        reasons.append(f"different scale ({theirs.effect_type} vs our {analysis.measure})")
    if link.get("note"):
        reasons.append(link["note"])
    return "; ".join(reasons)
