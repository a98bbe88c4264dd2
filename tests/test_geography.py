import networkx as nx
import numpy as np
import pytest

from em_abm.geography import TOTAL_POPULATION, Geography, build_graph


@pytest.fixture(scope="module")
def geo():
    return Geography()


def test_43_force_areas_connected(geo):
    g = geo.graph
    assert g.number_of_nodes() == 43
    assert nx.is_connected(g)
    land = [e for e in g.edges(data=True) if e[2]["kind"] == "land"]
    assert len(land) == 99


def test_population_total(geo):
    assert int(geo.population.sum()) == TOTAL_POPULATION == 61_806_682


def test_twelve_regions_each_connected(geo):
    assert len(geo.regions) == 12
    for r in geo.regions:
        members = geo.areas_of_region(r)
        assert members
        assert nx.is_connected(geo.graph.subgraph(members)), r
    names = dict(zip(geo.areas, geo.area_names, strict=True))
    north = [names[a] for a in geo.areas_of_region("East of England")]
    assert "Northamptonshire" in north  # per the MoJ mapping (SOURCES.md)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Essex", "Kent"),
        ("Avon and Somerset", "Gwent"),
        ("Avon and Somerset", "South Wales"),
        ("Merseyside", "North Wales"),
    ],
)
def test_road_links_across_water(geo, a, b):
    code = {geo.graph.nodes[n]["name"]: n for n in geo.graph}
    edge = geo.graph.edges[code[a], code[b]]
    assert edge["kind"] == "road_link"
    assert edge["hours"] > 0


def test_travel_times(geo):
    t = geo.travel_hours
    assert t.shape == (43, 43)
    assert np.allclose(t, t.T)
    assert np.all(np.diag(t) == 0)
    off = t[~np.eye(43, dtype=bool)]
    assert np.all(off > 0) and np.all(np.isfinite(off))
    # a slower road speed means longer journeys, in proportion
    slow = Geography(road_speed_kmh=30.0).travel_hours
    assert np.allclose(slow, t * 60.0 / 30.0)


def test_region_hub_is_most_populous(geo):
    names = geo.area_names
    london = geo.regions.index("London")
    assert names[geo.region_hub[london]] == "Metropolitan Police"


def test_home_areas_follow_population(geo):
    """New wearers' home areas as the model draws them (uniforms against ``area_cdf``)."""
    from em_abm.kernels import order_attributes

    rng, n = np.random.default_rng(0), 400_000
    cohort, one = np.zeros(n, dtype=np.int8), np.ones((1, 1))
    draws, _, _ = order_attributes(cohort, rng.random(n), geo.area_cdf, rng.random(n), one,
                                   rng.random(n), one)  # fmt: skip
    share = np.bincount(draws, minlength=43) / len(draws)
    assert np.allclose(share, geo.population_share, atol=0.002)


def test_graph_builds_with_any_speed():
    g = build_graph(road_speed_kmh=100.0, road_circuity=1.0)
    assert all(d["hours"] > 0 for *_, d in g.edges(data=True))
