"""Compiled inner loops (numba) for the per-order work done every simulated day.

A numpy expression over the order arrays costs a few microseconds of Python overhead per
call whatever the population, and a day needs hundreds of them; one fused loop over the
orders (or over the day's visits, alerts or breach packs) does the same work in a single
pass. Each kernel reproduces the numpy formulation it replaced operation for operation
(float32 where the arrays are float32, the same hash, sums in the same order), so results
are identical to it; the regression test pins them.

The kernels read and write the model's arrays in place (``OrderTable``, ``NotificationTable``
fields, the supplier's stock); the model's methods say what each stage means and call them.
Common random numbers are built here too: every per-order or per-breach draw is
``mix(mix(key ^ event << 56) + index)``, so it does not depend on which day or in which
order a policy handles the order.

One module per stage the kernels serve (``em_abm/kernels/<stage>.py``), with the shared
hash and helpers in :mod:`em_abm.kernels.core`; this package re-exports them all.
"""

from em_abm.kernels.behaviour import (  # noqa: F401
    AlertColumns,
    BehaviourOrders,
    BehaviourParams,
    HazardColumns,
    HazardOrders,
    HazardTables,
    _behaviour_day,
    _refresh_hazards,
    behaviour_day,
    refresh_hazards,
)
from em_abm.kernels.breach_packs import (  # noqa: F401
    _S40,
    NoticeAlerts,
    NoticeColumns,
    PackOrders,
    _write_notices,
    notice_draws,
    write_notices,
)
from em_abm.kernels.core import (  # noqa: F401
    _AWAITING_FIT,
    _AWAITING_REMOVAL,
    _AWAITING_RESPONSE,
    _CRN_BEHAVIOUR_TAG,
    _CRN_PACK_TAG,
    _CRN_REVIEW_TAG,
    _CRN_SPECIALS_TAG,
    _DISCONNECT,
    _ESCALATED,
    _FITTED,
    _FREE,
    _IN_TRANSIT,
    _INV53,
    _LOW,
    _M1,
    _M2,
    _M3,
    _NO_DAY,
    _POLICE,
    _PROBATION,
    _REWORK,
    _S11,
    _S27,
    _S30,
    _S31,
    _S32,
    _S56,
    _TAMPER,
    _TECHNICAL,
    _U,
    _UNTAGGED,
    _V_CHECK,
    _V_FIT,
    _V_REMOVAL,
    _VIOLATION,
    CRN_ALLOCATION,
    CRN_BEHAVIOUR,
    CRN_COLLECT,
    CRN_CUSTODY,
    CRN_FIT,
    CRN_NOTIFY,
    CRN_OUTCOME,
    CRN_PACK,
    CRN_PROXIMITY,
    CRN_RESENTENCE,
    CRN_REVIEW,
    CRN_SOURCE,
    CRN_SPECIALS,
    _crn1,
    _mix1,
    categorical,
    crn,
    crn_uniform,
    crn_uniform_scalar,
    gaps_to_positions,
    lowest_free,
    rank_within,
    view,
)
from em_abm.kernels.field import (  # noqa: F401
    _CRN_COLLECT_TAG,
    _CRN_FIT_TAG,
    FIELD_COUNTERS,
    FieldOrders,
    FieldOut,
    FieldParams,
    _field_visits_day,
    carried_hours,
    field_visits_day,
    visit_scan,
)
from em_abm.kernels.monitoring import (  # noqa: F401
    notify_decisions,
)
from em_abm.kernels.orders import (  # noqa: F401
    LEAVE_ACTIVE,
    REISSUE,
    REVOKE,
    InitOrders,
    NewOrders,
    RequesterOrders,
    RequesterParams,
    _init_orders,
    _requesters_and_ends_day,
    arrival_terms,
    init_orders,
    order_attributes,
    queue_new_orders,
    requesters_and_ends_day,
    review_decision,
)
from em_abm.kernels.people import (  # noqa: F401
    N_COUNTS,
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
    admit_to_custody,
    init_people,
    orders_closed,
    people_day,
    start_orders,
)
from em_abm.kernels.plans import (  # noqa: F401
    PLANS,
    SOURCES,
)
from em_abm.kernels.record import (  # noqa: F401
    RecordColumns,
    RecordOrders,
    _record_orders,
    record_orders,
)
from em_abm.kernels.responses import (  # noqa: F401
    ResponseNotices,
    ResponseOrders,
    ResponseOut,
    ResponseParams,
    _responses_day,
    responses_day,
    responses_waiting,
)
from em_abm.kernels.supply import (  # noqa: F401
    reorder_quantities,
)
