"""The Fellegi-Sunter model: its design (comparisons, blocking), its training, its artefact.

Design (one comparison per linkage key; splink 5 comparison levels, best first):
- birth_date: exact | one day apart | day and month swapped | year typo (one digit of the
  year off with the same day and month, or 1 or 10 years apart to the day +-1) | another
  single character off | within a year | else. The
  specific typo levels are far rarer among strangers than "within a year", so a typo'd
  birth date still counts as strong evidence.
- sex: exact | else.
- name: the token sets of `name_bigrams`: equal | Jaccard >= 0.7 | >= 0.5 | >= 0.3 | else.
  Jaccard = |A n B| / (|A| + |B| - |A n B|), written per SQL dialect (DuckDB / Spark).
  An equal name is weighed by how common that name is in the register (splink's term
  frequency adjustment; frequencies from jobs.link.prepare.name_frequencies).
- municipality: the register's residence on the record's date (record_date against the
  dated history `residences`) | the latest residence | any other residence | same region |
  else.
Null on either side is splink's null level (weight 0) in every comparison.

Blocking for prediction: equal birth date, OR equal name-token set, OR equal (birth year,
birth month, sex, municipality) -- the last catches a typo'd name together with a birth date
a day off. (fs-1 blocked on (birth year, sex, municipality): most of the pairs for almost no
links, docs/benchmarks.md "Linkage".)

Training (jobs.link.engine.train): u from random record x register pairs; m counted on
labelled pairs (keyed records with a valid pseudonym, `linkage.training: labelled`, levels
no label reaches get `m_floor`), or EM on pairs blocked on birth date (trains name, sex,
municipality) and on name-token set (trains birth date). The prior
(`probability_two_random_records_match`) is not estimated: every record has at most one register
person, so it is `prior_match_share / population size`.
Guards: a comparison whose estimate says its best level is no better than chance (m of
the best level < 0.5) keeps the design priors instead (logged, and listed in the artefact's
metadata); a level random sampling never met takes its design u prior; every m is clipped
to at least `m_floor` so no single disagreeing key rules a match out (a wrong sex code must
not forbid a link outright), and every u to at least U_FLOOR.

The artefact is splink's own settings JSON (loadable with `splink.Linker(df, path)`), saved
under `<models_dir>/linkage/<version>.json` with a `.meta.json` beside it and a
`current.json` pointer. The register's name frequencies (the term frequencies of an exact
name match) are part of the model: computed when it is trained, stored beside it
(`<version>.name_tf.parquet`) and used by every scoring with it, so a reused model scores a
pair the same way on every night (a name the register did not hold at training gets no
frequency adjustment: splink's exact-match weight). `version` = `<cfg.linkage.model_version>-
<hash of the trained parameters and the frequencies>`; files are never overwritten. A stored
model whose design hash differs from this code's design (or trained for another SQL dialect,
or without stored frequencies) is not reused, nor one whose inputs drifted: the records to
link or the register persons more than `linkage.retrain_drift` (a share) away from the counts
it was trained on.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import ColumnExpression, SettingsCreator, block_on

from jobs.config import LinkageConfig

if TYPE_CHECKING:
    from splink.internals.settings import Settings

log = logging.getLogger(__name__)

JACCARD_LEVELS = (0.7, 0.5, 0.3)
PRIORS = {  # starting m probabilities per comparison, non-null levels in order
    "birth_date": [0.95, 0.01, 0.005, 0.01, 0.005, 0.01, 0.01],
    "sex": [0.99, 0.01],
    "name": [0.85, 0.10, 0.03, 0.01, 0.01],
    "municipality": [0.80, 0.03, 0.07, 0.07, 0.03],
}
U_PRIORS = {  # used only where random sampling never saw a level (u would be unknown)
    "birth_date": [3e-5, 6e-5, 2e-5, 1e-4, 1e-3, 0.02, 0.97],
    "sex": [0.5, 0.5],
    "name": [1e-4, 1e-3, 0.01, 0.1, 0.89],
    "municipality": [0.02, 0.02, 0.03, 0.2, 0.75],
}
U_FLOOR = 1e-8  # u is a frequency among non-matches: tiny is right (equal birth dates), zero is not
_LEN = {"duckdb": "len", "spark": "size"}
_SAME_YEAR = "year(birth_date_l) = year(birth_date_r)"
_SAME_DAY_MONTH = "month(birth_date_l) = month(birth_date_r) AND day(birth_date_l) = day(birth_date_r)"
_DAYS_APART = {"duckdb": "abs(date_diff('day', birth_date_l, birth_date_r))",
               "spark": "abs(datediff(birth_date_l, birth_date_r))"}
# the register's residence on the record's date is the record's municipality (valid_to inclusive,
# null = current). Written both ways round: splink puts either input on the left (it orders
# the inputs by name when training). The bare `record_date_x` tests also tell splink the
# column is used (it does not look inside the lambda).
_AT_DATE = {
    "duckdb": "record_date_{a} IS NOT NULL AND list_bool_or(list_transform(residences_{b}, lambda x: "
              "x.municipality_code = municipality_code_{a} AND x.valid_from <= record_date_{a} "
              "AND coalesce(x.valid_to >= record_date_{a}, true)))",
    "spark": "record_date_{a} IS NOT NULL AND exists(residences_{b}, x -> "
             "x.municipality_code = municipality_code_{a} AND x.valid_from <= record_date_{a} "
             "AND coalesce(x.valid_to >= record_date_{a}, true))",
}


def _both_ways(template: str) -> str:
    return f"({template.format(a='l', b='r')}) OR ({template.format(a='r', b='l')})"


def _jaccard_at_least(dialect: str, threshold: float) -> str:
    size = _LEN[dialect]
    inter = f"{size}(array_intersect(name_tokens_l, name_tokens_r))"
    return f"{inter} >= {threshold} * ({size}(name_tokens_l) + {size}(name_tokens_r) - {inter})"


def comparisons(dialect: str) -> list[Any]:
    birth = cl.CustomComparison(output_column_name="birth_date", comparison_levels=[
        cll.NullLevel("birth_date"),
        cll.ExactMatchLevel("birth_date"),
        cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=False, threshold=1, metric="day").configure(
            label_for_charts="one day apart"),
        cll.CustomLevel(f"{_SAME_YEAR} AND month(birth_date_l) = day(birth_date_r) "
                        "AND day(birth_date_l) = month(birth_date_r)", label_for_charts="day and month swapped"),
        cll.CustomLevel(f"({_SAME_DAY_MONTH} AND levenshtein(CAST(year(birth_date_l) AS STRING), "
                        "CAST(year(birth_date_r) AS STRING)) = 1) "
                        f"OR {_DAYS_APART[dialect]} BETWEEN 364 AND 366 OR {_DAYS_APART[dialect]} BETWEEN 3651 AND 3654",
                        label_for_charts="year typo (one digit, or 1 or 10 years to the day)"),
        cll.LevenshteinLevel(ColumnExpression("birth_date").cast_to_string(), 1).configure(
            label_for_charts="another single character off"),
        cll.AbsoluteDateDifferenceLevel("birth_date", input_is_string=False, threshold=1, metric="year"),
        cll.ElseLevel(),
    ])
    name = cl.CustomComparison(output_column_name="name", comparison_levels=[
        cll.NullLevel("name_key"),
        cll.ExactMatchLevel("name_key").configure(label_for_charts="same name tokens",
                                                  tf_adjustment_column="name_key", tf_adjustment_weight=1.0),
        *[cll.CustomLevel(_jaccard_at_least(dialect, t), label_for_charts=f"token Jaccard >= {t}")
          for t in JACCARD_LEVELS],
        cll.ElseLevel(),
    ])
    municipality = cl.CustomComparison(output_column_name="municipality", comparison_levels=[
        cll.NullLevel("municipality_code"),
        cll.CustomLevel(_both_ways(_AT_DATE[dialect]), label_for_charts="residence at the record's date"),
        cll.ExactMatchLevel("municipality_code").configure(label_for_charts="latest residence"),
        cll.CustomLevel(_both_ways("array_contains(municipality_codes_{b}, municipality_code_{a})"),
                        label_for_charts="another residence"),
        cll.CustomLevel(_both_ways("array_contains(region_codes_{b}, region_code_{a})"), label_for_charts="same region"),
        cll.ElseLevel(),
    ])
    sex = cl.ExactMatch("sex")
    built = {"birth_date": birth, "sex": sex, "name": name, "municipality": municipality}
    return [c.configure(m_probabilities=PRIORS[k]) for k, c in built.items()]


# The blocking rules of prediction, each the columns (or SQL expressions over the comparison
# frame) that must be equal and not null on both sides; jobs/link/rescore.py reads them too.
# fs-1's third rule, (birth_year, sex, municipality_code), made 64 % of the pairs at `small`
# for 1 of 1,300 correct links; adding the birth month keeps a typo'd name with a birth
# date one day off (same month) for about a twelfth of those pairs
PREDICTION_BLOCKS: tuple[tuple[str, ...], ...] = (
    ("birth_date",), ("name_key",), ("birth_year", "sex", "municipality_code", "month(birth_date)"))


def prediction_blocking_rules() -> list[Any]:
    return [block_on(*block) for block in PREDICTION_BLOCKS]


def training_blocking_rules() -> list[Any]:
    return [block_on("birth_date"), block_on("name_key")]


def design_settings(dialect: str, prior: float, cfg: LinkageConfig) -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        comparisons=comparisons(dialect),
        blocking_rules_to_generate_predictions=prediction_blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        max_iterations=cfg.em_max_iterations,
    )


def prior_settings(dialect: str, prior: float, cfg: LinkageConfig) -> dict[str, Any]:
    """The design's own m and u priors as a complete model: used while there are too few
    records to train on (`cfg.min_training_records`), e.g. on the first tiny deliveries."""
    settings = design_settings(dialect, prior, cfg).get_settings(dialect).as_dict()
    return apply_guards(settings, cfg.m_floor)[0]


def prior_probability(cfg: LinkageConfig, population_size: int) -> float:
    return min(0.5, cfg.prior_match_share / max(1, population_size))


# --- trained parameters: guards, hashing ----------------------------------------------------
def _non_null_levels(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    return [lvl for lvl in comparison["comparison_levels"] if not lvl.get("is_null_level")]


def apply_guards(settings: dict[str, Any], m_floor: float) -> tuple[dict[str, Any], list[str]]:
    """Priors for comparisons EM got wrong or levels never observed; m clipped to [m_floor, 1],
    u to [U_FLOOR, 1]. Returns a new dict and the comparisons that fell back to priors."""
    out = json.loads(json.dumps(settings))
    fallbacks = []
    for comparison in out["comparisons"]:
        name = comparison["output_column_name"]
        levels = _non_null_levels(comparison)
        best_m = levels[0].get("m_probability")
        if best_m is None or best_m < 0.5:
            fallbacks.append(name)
            log.warning("EM estimate for %s not plausible (m of best level %s); keeping the design priors",
                        name, "unset" if best_m is None else f"{best_m:.3f}")
            for level, prior in zip(levels, PRIORS[name]):
                level["m_probability"] = prior
        for level, m_prior, u_prior in zip(levels, PRIORS[name], U_PRIORS[name]):
            m, u = level.get("m_probability"), level.get("u_probability")
            level["m_probability"] = min(1.0, max(m_floor, m_prior if m is None else float(m)))
            level["u_probability"] = min(1.0, max(U_FLOOR, u_prior if u is None else float(u)))
    return out, fallbacks


def with_m(settings: dict[str, Any], value: float) -> dict[str, Any]:
    """A copy with every non-null level's m set to `value`: counting m on labelled pairs only
    overwrites the levels it observes, so a level no labelled pair reaches keeps this."""
    out: dict[str, Any] = json.loads(json.dumps(settings))
    for comparison in out["comparisons"]:
        for level in _non_null_levels(comparison):
            level["m_probability"] = value
    return out


def parameters_hash(settings: dict[str, Any], frequencies_digest: str = "") -> str:
    """Hash of the trained parameters (and of the name frequencies stored with them, if any)."""
    params = [
        (c["output_column_name"], [(lvl.get("sql_condition"), lvl.get("m_probability"), lvl.get("u_probability"))
                                   for lvl in c["comparison_levels"]])
        for c in settings["comparisons"]
    ]
    parts: list[Any] = [settings.get("probability_two_random_records_match"), params]
    if frequencies_digest:
        parts.append(frequencies_digest)
    payload = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:10]


def frequencies_digest(name_tf: pa.Table) -> str:
    """Order-independent digest of a (name_key, tf_name_key) table."""
    frame = name_tf.to_pandas().sort_values("name_key", kind="stable").reset_index(drop=True)
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()[:16]


def design_hash(settings: dict[str, Any]) -> str:
    """Hash of what the code decides (levels' SQL, blocking), not of what training found."""
    design = [(c["output_column_name"], [lvl.get("sql_condition") for lvl in c["comparison_levels"]])
              for c in settings["comparisons"]]
    rules = [r if isinstance(r, str) else r.get("blocking_rule")
             for r in settings.get("blocking_rules_to_generate_predictions", [])]
    return hashlib.sha256(json.dumps([design, rules], sort_keys=True).encode()).hexdigest()[:10]


# --- evidence of a scored pair ---------------------------------------------------------------
def settings_object(settings: dict[str, Any], dialect: str) -> Settings:
    """splink's own Settings object of a stored settings dict (its comparisons know their levels,
    labels, Bayes factors and the names of the gamma / tf columns of predictions)."""
    return SettingsCreator.from_path_or_dict(settings).get_settings(dialect)


def evidence_columns(settings: dict[str, Any], dialect: str) -> tuple[dict[str, str], dict[str, str]]:
    """({comparison: gamma column}, {comparison: tf match-weight column}) of splink's predictions
    with intermediate columns retained."""
    comparisons = settings_object(settings, dialect).comparisons
    gammas = {c.output_column_name: c._gamma_column_name for c in comparisons}
    tfs = {c.output_column_name: c._mw_tf_adj_column_name for c in comparisons if c._has_tf_adjustments}
    return gammas, tfs


# --- the artefact ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredModel:
    version: str
    settings: dict[str, Any]
    meta: dict[str, Any]


FREQUENCIES_SUFFIX = ".name_tf.parquet"


def model_dir(models_root: Path) -> Path:
    return models_root / "linkage"


def save_model(models_root: Path, cfg: LinkageConfig, settings: dict[str, Any], meta: dict[str, Any],
               name_tf: pa.Table | None = None) -> StoredModel:
    """Write `<version>.json` (+ `.meta.json`, + `.name_tf.parquet`: the register's name
    frequencies the model scores with) unless present, then point `current.json` at it."""
    folder = model_dir(models_root)
    folder.mkdir(parents=True, exist_ok=True)
    digest = frequencies_digest(name_tf) if name_tf is not None else ""
    version = f"{cfg.model_version}-{parameters_hash(settings, digest)}"
    meta = {**meta, "version": version, "design_hash": design_hash(settings),
            "parameters_hash": parameters_hash(settings, digest)}
    if name_tf is not None:
        meta["name_frequencies"] = {"file": f"{version}{FREQUENCIES_SUFFIX}", "digest": digest, "rows": name_tf.num_rows}
    target = folder / f"{version}.json"
    if not target.exists():
        if name_tf is not None:
            tmp = folder / f"{version}{FREQUENCIES_SUFFIX}.part"
            pq.write_table(name_tf, tmp)
            tmp.replace(folder / f"{version}{FREQUENCIES_SUFFIX}")
        _atomic_write(target, json.dumps(settings, indent=2, sort_keys=True))
        _atomic_write(folder / f"{version}.meta.json", json.dumps(meta, indent=2, sort_keys=True))
    _atomic_write(folder / "current.json", json.dumps({"version": version, "file": target.name}, indent=2))
    return StoredModel(version, settings, meta)


def name_frequencies(models_root: Path, stored: StoredModel) -> pa.Table | None:
    """The name frequencies stored with `stored` (None for a model saved without them)."""
    info = stored.meta.get("name_frequencies")
    path = model_dir(models_root) / info["file"] if info else None
    return pq.read_table(path) if path is not None and path.exists() else None


def load_current(models_root: Path) -> StoredModel | None:
    pointer = model_dir(models_root) / "current.json"
    if not pointer.exists():
        return None
    info = json.loads(pointer.read_text(encoding="utf-8"))
    path = model_dir(models_root) / info["file"]
    meta_path = path.with_name(f"{info['version']}.meta.json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    return StoredModel(info["version"], json.loads(path.read_text(encoding="utf-8")), meta)


def is_reusable(stored: StoredModel | None, dialect: str, cfg: LinkageConfig, record_count: int = 0,
                population: int | None = None) -> bool:
    """A stored model is reused when it fits this design, dialect, configured version and
    training method (`cfg.training`); a model of design priors only while there are still too
    few records to train on; and only while neither the records to link nor the register
    (`population`, when given) have drifted more than `cfg.retrain_drift` from what it was
    trained on."""
    if stored is None:
        return False
    if not stored.meta.get("trained", True) and record_count >= cfg.min_training_records:
        log.info("stored linkage model %s holds design priors; enough records now to train", stored.version)
        return False
    expected = design_hash(design_settings(dialect, 0.001, cfg).get_settings(dialect).as_dict())
    same = (stored.meta.get("design_hash") == expected and stored.meta.get("dialect") == dialect
            and stored.version.startswith(f"{cfg.model_version}-")
            and stored.meta.get("training_config", cfg.training) == cfg.training)
    if not same:
        log.warning("stored linkage model %s does not fit this design/dialect/version/training; retraining",
                    stored.version)
        return False
    drifted = [f"{what} {then:,} -> {now:,}" for what, then, now in (
        ("records", stored.meta.get("trained_records"), record_count),
        ("register persons", stored.meta.get("population"), population))
        if then and now is not None and abs(now - then) > cfg.retrain_drift * then]
    if drifted:
        log.info("linkage model %s: inputs drifted past linkage.retrain_drift %.2f (%s); retraining",
                 stored.version, cfg.retrain_drift, ", ".join(drifted))
    return not drifted


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
