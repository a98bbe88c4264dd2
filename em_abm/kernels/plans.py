"""Each wrapper's compiled function and the views it spreads (checked by the tests), and where
views' fields come from when their names are not the table's."""

from __future__ import annotations

from em_abm.kernels.behaviour import (
    AlertColumns,
    BehaviourOrders,
    BehaviourParams,
    HazardColumns,
    HazardOrders,
    HazardTables,
    _behaviour_day,
    _refresh_hazards,
)
from em_abm.kernels.breach_packs import (
    NoticeAlerts,
    NoticeColumns,
    PackOrders,
    _write_notices,
)
from em_abm.kernels.field import (
    FieldOrders,
    FieldOut,
    FieldParams,
    _field_visits_day,
)
from em_abm.kernels.orders import (
    InitOrders,
    NewOrders,
    RequesterOrders,
    RequesterParams,
    _init_orders,
    _requesters_and_ends_day,
)
from em_abm.kernels.people import (
    ClosedOrders,
    ClosedPeople,
    CustodyOrders,
    CustodyPeople,
    InitPeople,
    MovingPeople,
    NewPeople,
    PeopleDay,
    PeopleOrders,
    PeopleOut,
    PeopleParams,
    StartPeople,
    _admit_to_custody,
    _init_people,
    _orders_closed,
    _people_day,
    _start_orders,
)
from em_abm.kernels.record import RecordColumns, RecordOrders, _record_orders
from em_abm.kernels.responses import (
    ResponseNotices,
    ResponseOrders,
    ResponseOut,
    ResponseParams,
    _responses_day,
)

# Where a view's fields come from when their names are not the table's: a prefix to drop and
# fields renamed (``SlotTable.views``).
SOURCES = {
    FieldOrders: ("", {"region_of": "region"}),
    ResponseNotices: ("nt_", {}),
    ResponseOrders: ("o_", {}),
    PackOrders: ("o_", {}),
    NoticeColumns: ("nt_", {}),
    PeopleOrders: ("o_", {}),
    CustodyOrders: ("o_", {}),
    ClosedOrders: ("o_", {}),
}

# Each wrapper's compiled function and what it spreads, in order (checked by the tests).
PLANS = {
    "refresh_hazards": (_refresh_hazards, "slots", HazardOrders, HazardTables, HazardColumns),
    "init_orders": (_init_orders, "slots", NewOrders, "region_of_area", InitOrders,
                    HazardTables, HazardColumns),
    "behaviour_day": (_behaviour_day, "n", "d", "day_hash", "working_after", "early_after",
                      "p_next_day", BehaviourOrders, BehaviourParams, AlertColumns),
    "field_visits_day": (_field_visits_day, "cand", "d", FieldOrders, "stock", "cap",
                         FieldParams, FieldOut),
    "requesters_and_ends_day": (_requesters_and_ends_day, "n", "d", RequesterOrders,
                                RequesterParams, "p_next_day", "out_closed"),
    "responses_day": (_responses_day, "waiting", "desk", "credit", "rate", "d", ResponseNotices,
                      ResponseOrders, ResponseParams, ResponseOut),
    "write_notices": (_write_notices, "slots", NoticeAlerts, "key", "responder", "hours", "d",
                      PackOrders, NoticeColumns, "window_hours", "by_cohort", "out_lag"),
    "init_people": (_init_people, "slots", "d", "day", "after_days", "offence_tag", NewPeople,
                    InitPeople, "agg"),
    "admit_to_custody": (_admit_to_custody, "persons", "kinds", "days", "d", "day",
                         "followup_days", CustodyPeople, MovingPeople, CustodyOrders, "agg",
                         "out_close", "out_admitted"),
    "orders_closed": (_orders_closed, "slots", "d", "day", "followup_days", "after_days",
                      ClosedOrders, ClosedPeople, MovingPeople, "agg"),
    "start_orders": (_start_orders, "persons", "orders", "day", "followup_days", "o_uid",
                     StartPeople, MovingPeople, "agg"),
    "people_day": (_people_day, "n", "d", "working_after", PeopleDay, PeopleOrders,
                   PeopleParams, PeopleOut),
    "record_orders": (_record_orders, "n", RecordOrders, "d", "row", RecordColumns),
}  # fmt: skip
