import pytest

from em_abm import params as P
from em_abm.errors import UserError

SOURCE_KINDS = ("NAO", "FACTS", "HMPPS", "assumption", "calibrated", "model design", "study")


@pytest.mark.parametrize("p", list(P.PARAMS.values()), ids=lambda p: p.name)
def test_every_parameter_is_documented(p):
    assert p.unit, "unit"
    assert p.description.strip(), "description"
    assert any(k in p.source for k in SOURCE_KINDS), f"source should cite a kind: {p.source}"
    if p.kind in ("float", "int"):
        assert p.lower is not None and p.upper is not None
        assert p.lower <= p.default <= p.upper
        assert isinstance(p.default, float if p.kind == "float" else int)
    if p.kind == "choice":
        assert p.default in p.choices
    # the default passes its own validation
    assert p.validate(p.default) == p.default


def test_defaults_satisfy_share_groups():
    P.check_groups(P.defaults())
    assert "demand.tag_mix.post_release" in P.groups()
    assert "escalation" in P.groups()


def test_calibrated_values_say_so():
    assert P.PARAMS["field.fit_success_prob"].source.startswith("calibrated: calibration/report.md")
    p = P.PARAMS["field.fit_success_prob"].default
    assert 0.59 <= 1 - (1 - p) ** 2 <= 0.65  # 62% within two attempts, within its tolerance


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"field.officers": -1}, "field.officers: got -1; allowed: an integer from 0 to 5000"),
        ({"field.officers": 2.5}, "field.officers: got 2.5"),
        ({"field.officers": "many"}, "field.officers: got 'many'"),
        ({"orders.error_rate": 1.5}, "orders.error_rate: got 1.5; allowed: a number from 0 to 1"),
        ({"orders.error_rate": float("nan")}, "orders.error_rate: got nan"),
        ({"orders.error_rate": True}, "orders.error_rate: got True"),
        ({"policy.visit_queue": "fastest"}, "allowed: one of 'fcfs'"),
        ({"field.oficers": 3}, "unknown parameter; did you mean field.officers"),
    ],
)
def test_validation_names_field_and_allowed_values(values, needle):
    with pytest.raises(UserError) as e:
        P.validate(values)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_int_is_accepted_for_float():
    assert P.validate({"orders.error_rate": 0}) == {"orders.error_rate": 0.0}


def test_shares_must_sum_to_one():
    values = P.defaults() | {"demand.tag_mix.court_bail.rf": 0.9}
    with pytest.raises(UserError, match=r"demand.tag_mix.court_bail: shares must sum to 1"):
        P.check_groups(values)


@pytest.mark.parametrize("fmt", ["text", "markdown", "csv"])
def test_table_lists_every_parameter(fmt):
    out = P.ParamTable().render(fmt)
    for name in P.PARAMS:
        assert name in out
