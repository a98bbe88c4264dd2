"""Police force areas of England and Wales as a travel network.

Nodes are the 43 territorial police force areas (PFAs), each with its population (ONS
mid-2024), probation region (12 HMPPS regions), centroid and land area. Edges join land
neighbours and the four pairs linked by road across water (Dartford, the two Severn
bridges, the Dee); each edge carries the driving time between centroids: great-circle
distance times a road circuity factor over an average road speed. Sources of every column:
``em_abm/data/SOURCES.md``.

Field officers are based at their region's hub (its most populous force area). The time
charged to a visit in area ``a`` is the shortest-path time from the hub to ``a`` times a
chaining factor (visits are chained into rounds, not separate trips), plus the same share of
the mean time to reach an address inside ``a``.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

import networkx as nx
import numpy as np

from em_abm.params import PARAMS

# The declared defaults (field.road_speed_kmh, field.road_circuity), for use without a model.
_DEFAULT_SPEED = PARAMS["field.road_speed_kmh"].default
_DEFAULT_CIRCUITY = PARAMS["field.road_circuity"].default

EARTH_RADIUS_KM = 6371.0088
TOTAL_POPULATION = 61_806_682  # ONS mid-2024, England and Wales (SOURCES.md)


def _read_csv(name: str) -> list[dict[str, str]]:
    with resources.files("em_abm").joinpath("data", name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def build_graph(
    *, road_speed_kmh: float = _DEFAULT_SPEED, road_circuity: float = _DEFAULT_CIRCUITY
) -> nx.Graph:
    """The PFA network with node attributes and edge travel times (``hours``)."""
    g = nx.Graph()
    for row in _read_csv("pfa.csv"):
        g.add_node(
            row["pfa_code"],
            name=row["pfa_name"],
            region=row["region"],
            population=int(row["population"]),
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            area_km2=float(row["area_km2"]),
        )
    links = [(r["pfa_code_a"], r["pfa_code_b"], "land", "") for r in _read_csv("pfa_adjacency.csv")]
    links += [
        (r["pfa_code_a"], r["pfa_code_b"], "road_link", r["crossing"])
        for r in _read_csv("pfa_road_links.csv")
    ]
    for a, b, kind, crossing in links:
        na, nb = g.nodes[a], g.nodes[b]
        km = haversine_km(na["lat"], na["lon"], nb["lat"], nb["lon"]) * road_circuity
        g.add_edge(a, b, kind=kind, crossing=crossing, km=km, hours=km / road_speed_kmh)
    return g


@dataclass(frozen=True)
class Geography:
    """Indexed view of the PFA network for the model (areas and regions as integers)."""

    road_speed_kmh: float = _DEFAULT_SPEED
    road_circuity: float = _DEFAULT_CIRCUITY

    @cached_property
    def graph(self) -> nx.Graph:
        return build_graph(road_speed_kmh=self.road_speed_kmh, road_circuity=self.road_circuity)

    @cached_property
    def areas(self) -> list[str]:
        """PFA codes in file order; area index ``i`` is ``areas[i]``."""
        return list(self.graph.nodes)

    @cached_property
    def area_names(self) -> list[str]:
        return [self.graph.nodes[a]["name"] for a in self.areas]

    @cached_property
    def regions(self) -> list[str]:
        """Probation region names, sorted; region index ``r`` is ``regions[r]``."""
        return sorted({self.graph.nodes[a]["region"] for a in self.areas})

    @cached_property
    def area_region(self) -> np.ndarray:
        """Region index of each area."""
        index = {r: i for i, r in enumerate(self.regions)}
        return np.array([index[self.graph.nodes[a]["region"]] for a in self.areas], dtype=np.int16)

    @cached_property
    def population(self) -> np.ndarray:
        return np.array([self.graph.nodes[a]["population"] for a in self.areas], dtype=np.int64)

    @cached_property
    def population_share(self) -> np.ndarray:
        return self.population / self.population.sum()

    @cached_property
    def region_population_share(self) -> np.ndarray:
        return np.bincount(
            self.area_region, weights=self.population_share, minlength=len(self.regions)
        )

    @cached_property
    def travel_hours(self) -> np.ndarray:
        """Shortest-path driving hours between every pair of areas (areas x areas)."""
        return nx.floyd_warshall_numpy(self.graph, nodelist=self.areas, weight="hours")

    def areas_of_region(self, region: str) -> list[str]:
        return [a for a in self.areas if self.graph.nodes[a]["region"] == region]

    @cached_property
    def region_hub(self) -> np.ndarray:
        """Area index of each region's base: its most populous force area."""
        hubs = np.empty(len(self.regions), dtype=np.int64)
        for r in range(len(self.regions)):
            members = np.flatnonzero(self.area_region == r)
            hubs[r] = members[np.argmax(self.population[members])]
        return hubs

    @cached_property
    def intra_area_hours(self) -> np.ndarray:
        """Mean driving time to an address within an area: half the side of a square of the
        area's size, by road."""
        side_km = np.sqrt([self.graph.nodes[a]["area_km2"] for a in self.areas])
        return 0.5 * side_km * self.road_circuity / self.road_speed_kmh

    def visit_travel_hours(self, chain_factor: float) -> np.ndarray:
        """Travel hours charged to one visit in each area, for officers based at the hub.

        A round of visits shares one trip out from the hub and back, so each visit is
        charged ``chain_factor`` of the trip to its area and across it.
        """
        hub_to_area = self.travel_hours[
            self.region_hub[self.area_region], np.arange(len(self.areas))
        ]
        return chain_factor * (hub_to_area + self.intra_area_hours)

    @functools.cached_property
    def area_cdf(self) -> np.ndarray:
        """Cumulative population shares of the areas (the last exactly 1): new wearers'
        home areas are drawn against it (:func:`em_abm.kernels.order_attributes`)."""
        cdf = np.cumsum(self.population_share)
        cdf[-1] = 1.0
        return cdf
