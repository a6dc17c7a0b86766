"""Where care and support happen: psychiatric departments (SOR codes, each in one provider
region) and social facilities (botilbud, forsorgshjem) with Danish names."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from jobs.generate.arrays import rng
from jobs.generate.persons import Geography
from schemas.codes import REGION_CODES

# department kinds and how many of each a region has (scaled a little by region size below)
DEPT_KINDS = ("adult_inpatient", "child_inpatient", "adult_outpatient", "child_outpatient", "emergency", "somatic")
DEPT_PER_REGION = (6, 2, 10, 4, 3, 3)

FACILITY_WORDS = ("Åbo", "Lærkehøj", "Solgården", "Engbo", "Kastanjehuset", "Fjordglimt", "Bøgely", "Skovbrynet",
                  "Møllehuset", "Strandvejen", "Hyldebærgården", "Åhusene", "Kildehøj", "Birkelund", "Toftegården",
                  "Nørrebo", "Vesterled", "Østerhøj", "Granly", "Rønnebo")
FACILITY_PREFIX = {"SEL107": "Bostedet", "SEL108": "Botilbuddet", "SEL110": "Forsorgshjemmet"}


@dataclass(frozen=True)
class Departments:
    code: np.ndarray     # "SOR" + 9 digits
    region: np.ndarray   # index into REGION_CODES
    kind: np.ndarray     # index into DEPT_KINDS

    def pick(self, kind: np.ndarray, region: np.ndarray, key: np.ndarray) -> np.ndarray:
        """A department of `kind` in `region`, chosen stably by `key` (a person's id), so a
        person keeps returning to the same department."""
        out = np.empty(kind.size, np.int64)
        for k in range(len(DEPT_KINDS)):
            for r in range(len(REGION_CODES)):
                rows = np.flatnonzero((kind == k) & (region == r))
                if rows.size:
                    members = np.flatnonzero((self.kind == k) & (self.region == r))
                    out[rows] = members[(key[rows] % np.uint64(members.size)).astype(np.int64)]
        return out


def build_departments(seed: int) -> Departments:
    gen = rng(seed, 2)
    kinds = np.repeat(np.tile(np.arange(len(DEPT_KINDS)), len(REGION_CODES)), np.tile(DEPT_PER_REGION, len(REGION_CODES)))
    region = np.repeat(np.arange(len(REGION_CODES)), sum(DEPT_PER_REGION))
    numbers = gen.choice(900_000_000, size=kinds.size, replace=False) + 100_000_000
    return Departments(np.array([f"SOR{n:09d}" for n in numbers]), region, kinds)


@dataclass(frozen=True)
class Facilities:
    facility_id: np.ndarray   # e.g. "101-B02 Lærkehøj"
    municipality: np.ndarray  # index into Geography
    section: np.ndarray       # "SEL107" | "SEL108" | "SEL110"

    def pick(self, section: str, municipality: np.ndarray, key: np.ndarray) -> np.ndarray:
        members = np.flatnonzero(self.section == section)
        muni_of = self.municipality[members]
        out = np.empty(municipality.size, np.int64)
        order = np.argsort(muni_of, kind="stable")
        starts = np.searchsorted(muni_of[order], municipality, side="left")
        counts = np.searchsorted(muni_of[order], municipality, side="right") - starts
        out[:] = members[order][starts + (key % np.maximum(counts, 1).astype(np.uint64)).astype(np.int64)]
        return out


def build_facilities(seed: int, geo: Geography, per_municipality: Mapping[str, Any]) -> Facilities:
    gen = rng(seed, 3)
    ids, munis, sections = [], [], []
    for section, letter in (("SEL107", "B"), ("SEL108", "L"), ("SEL110", "F")):
        count = int(per_municipality[section])
        for m, code in enumerate(geo.codes):
            words = gen.choice(len(FACILITY_WORDS), size=count, replace=False)
            for k, w in enumerate(words):
                ids.append(f"{code}-{letter}{k + 1:02d} {FACILITY_WORDS[w]}")
                munis.append(m)
                sections.append(section)
    return Facilities(np.array(ids), np.array(munis), np.array(sections))
