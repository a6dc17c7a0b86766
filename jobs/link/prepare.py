"""Linkage inputs as pure transforms: the records to link and the register's linkage keys.

- Every current record of every linked source (schemas.sources.LINKED_SOURCES) becomes one
  link record: (source, source_record_id, person_id, birth_date, sex, name_bigrams,
  municipality_code, record_date). Health sources carry no linkage keys: those columns are
  null. `record_date` is the day the record describes (RECORD_DATE_COLUMNS): the source's
  municipality is the residence on that day, or an earlier one when stale.
- A `person_id` of exactly 16 lowercase hex characters is the shared pseudonym and links
  deterministically. Anything else (null, malformed, replacement `E` + 15 hex) is linked
  probabilistically on the linkage keys (sources.md, "Person identifiers").
- The comparison frame fed to splink has one row per record or person: `unique_id`,
  `birth_date`, `birth_year`, `sex`, `name_tokens` (sorted distinct tokens of
  `name_bigrams`), `name_key` (the tokens joined: equal for equal token sets),
  `municipality_code`, `municipality_codes`, `region_code`, `region_codes`, `record_date`
  and `residences`. For a register person the municipality is the latest residence,
  `municipality_codes` every municipality they ever lived in (so a source that recorded an
  earlier address still agrees, "stale municipality"), `region_codes` the regions of those,
  and `residences` the dated history (municipality_code, valid_from, valid_to), so the model
  can ask where the person lived on the record's date. Records have `record_date` and their
  municipality's region; register persons have no record date.
- `name_frequencies`: how common each name-token set is in the register (splink's term
  frequency adjustment of an exact name match).
"""
from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from schemas.codes import REPLACEMENT_ID_RE
from schemas.sources import LINKED_SOURCES, SOURCES

PSEUDONYM_RE = r"^[0-9a-f]{16}$"
REPLACEMENT_RE = f"^{REPLACEMENT_ID_RE}$"
KEY_COLUMNS = ("birth_date", "sex", "name_bigrams", "municipality_code")
LINK_RECORD_COLUMNS = ["source", "source_record_id", "person_id", *KEY_COLUMNS, "record_date"]
FRAME_COLUMNS = ["unique_id", "birth_date", "birth_year", "sex", "name_tokens", "name_key",
                 "municipality_code", "municipality_codes", "region_code", "region_codes", "record_date", "residences"]
# the day each source's record describes (sources.md); sources without linkage keys need none
RECORD_DATE_COLUMNS = {"social_services": "start_date", "social_force_use": "event_ts", "police": "event_ts"}
RESIDENCES_TYPE = "array<struct<municipality_code:string,valid_from:date,valid_to:date>>"
UID_SEPARATOR = "|"
ACTIVE = "A"

KEY_TYPES = {"birth_date": "date", "sex": "string", "name_bigrams": "string", "municipality_code": "string"}


def _active(df: DataFrame) -> DataFrame:
    """Silver holds current active records only; filter again in case a status slipped through."""
    return df.where(F.col("record_status") == ACTIVE) if "record_status" in df.columns else df


def build_link_records(silver: Mapping[str, DataFrame]) -> DataFrame:
    """One row per current record of each linked source given in `silver` (source -> DataFrame)."""
    parts = []
    for source in LINKED_SOURCES:
        if source not in silver:
            continue
        df = _active(silver[source])
        has_keys = SOURCES[source].has_linkage_keys
        keys = [(F.col(k) if has_keys else F.lit(None)).cast(KEY_TYPES[k]).alias(k) for k in KEY_COLUMNS]
        date_col = RECORD_DATE_COLUMNS.get(source)
        record_date = (F.col(date_col) if has_keys and date_col in df.columns else F.lit(None)).cast("date")
        parts.append(df.select(F.lit(source).alias("source"), F.col("record_id").alias("source_record_id"),
                               F.col("person_id").cast("string").alias("person_id"), *keys,
                               record_date.alias("record_date")))
    if not parts:
        raise ValueError(f"build_link_records needs at least one of {list(LINKED_SOURCES)}")
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out.select(*LINK_RECORD_COLUMNS)


def has_valid_pseudonym(col: Column) -> Column:
    return F.coalesce(col.rlike(PSEUDONYM_RE), F.lit(False))


def is_replacement_pseudonym(col: Column) -> Column:
    return F.coalesce(col.rlike(REPLACEMENT_RE), F.lit(False))


def split_records(records: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(deterministic, probabilistic): records with a valid pseudonym, and all the others."""
    valid = has_valid_pseudonym(F.col("person_id"))
    return records.where(valid), records.where(~valid)


def record_uid(source: Column, record_id: Column) -> Column:
    return F.concat_ws(UID_SEPARATOR, source, record_id)


def _tokens(bigrams: Column) -> Column:
    tokens = F.array_sort(F.array_distinct(F.filter(F.split(F.trim(bigrams), r"\s+"), lambda t: F.length(t) > 0)))
    return F.when(F.size(tokens) > 0, tokens)


def comparison_frame(df: DataFrame, uid: Column, *, municipality_codes: Column, region_code: Column,
                     region_codes: Column, record_date: Column, residences: Column) -> DataFrame:
    """The columns splink compares (FRAME_COLUMNS) from a frame holding the linkage keys."""
    return (
        df.withColumn("name_tokens", _tokens(F.col("name_bigrams")))
        .select(
            uid.alias("unique_id"),
            F.col("birth_date").cast("date").alias("birth_date"),
            F.year("birth_date").alias("birth_year"),
            F.col("sex"),
            F.col("name_tokens"),
            F.array_join("name_tokens", " ").alias("name_key"),
            F.col("municipality_code"),
            municipality_codes.cast("array<string>").alias("municipality_codes"),
            region_code.cast("string").alias("region_code"),
            region_codes.cast("array<string>").alias("region_codes"),
            record_date.cast("date").alias("record_date"),
            residences.cast(RESIDENCES_TYPE).alias("residences"),
        )
        .select(*FRAME_COLUMNS)
    )


def _with_region(df: DataFrame, regions: DataFrame | None) -> DataFrame:
    """`region_code` of `municipality_code` (null without the reference or for an unknown code)."""
    if regions is None:
        return df.withColumn("region_code", F.lit(None).cast("string"))
    lookup = regions.select(F.col("municipality_code").alias("_m"), F.col("region_code"))
    return df.join(F.broadcast(lookup), df["municipality_code"] == lookup["_m"], "left").drop("_m")


def record_frame(records: DataFrame, regions: DataFrame | None = None) -> DataFrame:
    """Comparison frame of the records to link; unique_id = `<source>|<record_id>`.

    `regions`: (municipality_code, region_code), the reference geography."""
    mun = F.col("municipality_code")
    return comparison_frame(_with_region(records, regions), record_uid(F.col("source"), F.col("source_record_id")),
                            municipality_codes=F.when(mun.isNotNull(), F.array(mun)),
                            region_code=F.col("region_code"), region_codes=F.lit(None),
                            record_date=F.col("record_date"), residences=F.lit(None))


def population_frame(population: DataFrame, residence: DataFrame | None, regions: DataFrame | None = None) -> DataFrame:
    """Comparison frame of the register: unique_id = person_id, residence history attached."""
    people = _active(population).select("person_id", "birth_date", "sex", "name_bigrams")
    if residence is None:
        keyed = (people.withColumn("municipality_code", F.lit(None).cast("string"))
                 .withColumn("municipality_codes", F.lit(None).cast("array<string>"))
                 .withColumn("region_codes", F.lit(None).cast("array<string>"))
                 .withColumn("residences", F.lit(None).cast(RESIDENCES_TYPE)))
    else:
        keyed = people.join(residence_summary(residence, regions), "person_id", "left")
    return comparison_frame(_with_region(keyed, regions), F.col("person_id"),
                            municipality_codes=F.col("municipality_codes"), region_code=F.col("region_code"),
                            region_codes=F.col("region_codes"), record_date=F.lit(None),
                            residences=F.col("residences"))


def labelled_frame(det_records: DataFrame, register_ids: DataFrame, regions: DataFrame | None = None, *,
                   max_rows: int, seed: int) -> DataFrame:
    """Training labels from the pipeline's own data: the records with a valid pseudonym that
    also carry linkage keys, whose pseudonym is a register person (`register_ids`: person_id).
    Their comparison frame plus `label_person_id` (that person); at most `max_rows`, a
    deterministic sample (by a seeded hash of the uid) beyond."""
    any_key = F.lit(False)
    for k in KEY_COLUMNS:
        any_key = any_key | F.col(k).isNotNull()
    keyed = (det_records.where(any_key)
             .join(register_ids.select("person_id").distinct(), "person_id", "inner"))
    uid = record_uid(F.col("source"), F.col("source_record_id"))
    labels = keyed.select(uid.alias("unique_id"), F.col("person_id").alias("label_person_id"))
    frame = record_frame(keyed, regions).join(labels, "unique_id", "inner")
    return frame.orderBy(F.xxhash64("unique_id", F.lit(seed))).limit(int(max_rows))


def name_frequencies(population_frame: DataFrame) -> DataFrame:
    """Term frequency of each name-token set in the register: (name_key, tf_name_key).

    splink weighs an exact name match by it (a shared rare name says more than a shared
    common one)."""
    named = population_frame.where(F.col("name_key").isNotNull())
    total = named.agg(F.count("*").alias("_n"))
    return (named.groupBy("name_key").agg(F.count("*").alias("_c")).crossJoin(total)
            .select("name_key", (F.col("_c") / F.col("_n")).cast("double").alias("tf_name_key")))


def residence_summary(residence: DataFrame, regions: DataFrame | None = None) -> DataFrame:
    """Per person: the latest municipality, the sorted set of every municipality lived in,
    the sorted set of their regions and the dated history (`residences`, by valid_from)."""
    res = _active(residence).select("person_id", "municipality_code", "valid_from", "valid_to")
    latest = Window.partitionBy("person_id").orderBy(
        F.col("valid_to").isNull().desc(), F.col("valid_from").desc_nulls_last(), F.col("municipality_code"))
    current = (res.withColumn("_rn", F.row_number().over(latest)).where("_rn = 1")
               .select("person_id", "municipality_code"))
    dated = F.struct(F.col("valid_from"), F.col("municipality_code"), F.col("valid_to"))
    history = _with_region(res, regions).groupBy("person_id").agg(
        F.array_sort(F.collect_set("municipality_code")).alias("municipality_codes"),
        F.array_sort(F.collect_set("region_code")).alias("region_codes"),
        F.transform(F.array_sort(F.collect_list(dated)), lambda x: F.struct(
            x["municipality_code"].alias("municipality_code"), x["valid_from"].alias("valid_from"),
            x["valid_to"].alias("valid_to"))).alias("residences"))
    return current.join(history, "person_id", "inner")
