"""Reference geography from shared/reference/: municipalities, regions, health clusters, police districts."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from jobs.config import PathsConfig
from jobs.errors import ConfigError

REGION_NAMES = {
    "1081": "Region Nordjylland", "1082": "Region Midtjylland", "1083": "Region Syddanmark",
    "1084": "Region Hovedstaden", "1085": "Region Sjælland",
}

MUNICIPALITY_SCHEMA = T.StructType([
    T.StructField("municipality_code", T.StringType(), False),
    T.StructField("municipality_name", T.StringType(), False),
    T.StructField("region_code", T.StringType(), False),
    T.StructField("region_name", T.StringType(), False),
    T.StructField("population", T.LongType(), False),
    T.StructField("population_date", T.StringType(), False),
    T.StructField("health_cluster_code", T.StringType(), False),
    T.StructField("police_district_code", T.StringType(), False),
])


@dataclass(frozen=True)
class Municipality:
    municipality_code: str
    municipality_name: str
    region_code: str
    region_name: str
    population: int
    health_cluster_code: str
    police_district_code: str


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ConfigError(f"reference file {path} not found; set paths.reference in conf/ to the folder holding it")
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def municipalities(paths: PathsConfig) -> list[Municipality]:
    rows = _rows(paths.reference_dir() / "municipalities.csv")
    return [
        Municipality(r["municipality_code"].zfill(3), r["municipality_name"], r["region_code"], r["region_name"],
                     int(r["population"]), r["health_cluster_code"], r["police_district_code"])
        for r in rows
    ]


def health_clusters(paths: PathsConfig) -> list[dict[str, str]]:
    return [{k: r[k] for k in ("health_cluster_code", "health_cluster_name", "region_code")}
            for r in _rows(paths.reference_dir() / "health_clusters.csv")]


def police_districts(paths: PathsConfig) -> list[dict[str, str]]:
    return [{k: r[k] for k in ("police_district_code", "police_district_name")}
            for r in _rows(paths.reference_dir() / "police_districts.csv")]


def municipalities_df(spark: SparkSession, paths: PathsConfig) -> DataFrame:
    rows = [(m.municipality_code, m.municipality_name, m.region_code, m.region_name, m.population,
             "2023-01-01", m.health_cluster_code, m.police_district_code) for m in municipalities(paths)]
    return spark.createDataFrame(rows, MUNICIPALITY_SCHEMA)

