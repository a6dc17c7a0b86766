"""The geography the indicators are complete over: every code in shared/reference/."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jobs.config import PathsConfig
from jobs.indicators.definitions import HEALTH_CLUSTER, MUNICIPALITY, NATIONAL, NATIONAL_CODE, REGION
from jobs.reference import health_clusters, municipalities


@dataclass(frozen=True)
class Geography:
    municipality_region: Mapping[str, str]
    municipality_cluster: Mapping[str, str]
    cluster_region: Mapping[str, str]

    def __hash__(self) -> int:  # by value, as __eq__ (the reader model is cached by geography: definitional.py)
        return hash(tuple(tuple(sorted(m.items())) for m in
                          (self.municipality_region, self.municipality_cluster, self.cluster_region)))

    @classmethod
    def from_reference(cls, paths: PathsConfig) -> Geography:
        munis = municipalities(paths)
        return cls(
            municipality_region={m.municipality_code: m.region_code for m in munis},
            municipality_cluster={m.municipality_code: m.health_cluster_code for m in munis},
            cluster_region={c["health_cluster_code"]: c["region_code"] for c in health_clusters(paths)},
        )

    @property
    def regions(self) -> list[str]:
        return sorted(set(self.municipality_region.values()) | set(self.cluster_region.values()))

    def codes(self, level: str) -> list[str]:
        """Every reference code of a level (the `unknown` municipality is added only when not zero)."""
        return {
            NATIONAL: [NATIONAL_CODE],
            REGION: self.regions,
            HEALTH_CLUSTER: sorted(self.cluster_region),
            MUNICIPALITY: sorted(self.municipality_region),
        }[level]

    def parent_region(self, level: str, code: str) -> str | None:
        """The region a municipality or health cluster belongs to (None for other levels)."""
        if level == MUNICIPALITY:
            return self.municipality_region.get(code)
        if level == HEALTH_CLUSTER:
            return self.cluster_region.get(code)
        return None
