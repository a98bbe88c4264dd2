"""Conservation and capacity invariants, checked every day when a model is built with
``check_invariants=True`` (the tests do): orders, devices and notifications are conserved,
every live order has its agent, visits wait only where they belong, no stock is negative,
and no desk does more than its capacity."""

from __future__ import annotations

import numpy as np

from em_abm.agents import TagWearer
from em_abm.population import NoticeState, State, Visit


def check(model) -> None:
    """Assert every invariant of ``model`` on the day just simulated."""
    m, s = model, model.stages
    o = m.orders
    n = o.n
    live = int(np.count_nonzero(o.state[:n]))
    # Every order ever created is live (in exactly one state) or closed, and has one agent.
    assert live + m.orders_closed == o.next_uid, "orders not conserved"
    live_slots = o.live().tolist()
    in_model = m.agents_by_type.get(TagWearer, ())
    assert len(o.agent) == n and all(a.slot == i for i, a in enumerate(o.agent)), "slots"
    assert live == len(in_model), "agents of closed orders kept"
    assert all(o.agent[i] in in_model for i in live_slots), "live order without its agent"
    assert set(np.unique(o.state[:n])) <= {int(x) for x in State}
    # Pending visits only where they belong.
    visit, state = o.visit[:n], o.state[:n]
    assert not np.any((visit == Visit.FIT) & (state != State.AWAITING_FIT))
    assert not np.any((visit == Visit.CHECK) & (state != State.FITTED))
    assert not np.any((visit == Visit.REMOVAL) & (state != State.AWAITING_REMOVAL))
    supplier = s.supply.supplier
    assert np.all(supplier.stock >= 0), "negative stock"
    # An order past its last day is closed, or waits only for its tag to be removed.
    ended = (state != State.FREE) & (o.end_day[:n] <= m.day)
    assert np.all(state[ended] == State.AWAITING_REMOVAL), "an ended order still open"
    # Desks never do more than their capacity since the start (a day's unused capacity
    # carries over only in part, so the work done can only fall below it).
    allowed, done = m.ledger["reviews"]
    assert done <= allowed + 1e-6, "more alerts reviewed than the centre's capacity"
    allowed, done = m.ledger["responses"]
    assert np.all(done <= allowed + 1e-6), "more responses than the responders' capacity"
    on_wearers = int(np.count_nonzero((state == State.FITTED) | (state == State.AWAITING_REMOVAL)))
    supplied = supplier.supplied + s.orders.initial_devices_fitted
    assert on_wearers + int(supplier.stock.sum()) + m.devices_lost == supplied, "devices"
    # Every notification is in transit, with a responder, answered or lapsed: nothing else.
    nt = m.notices
    nstate, delivered = nt.view("state"), nt.view("delivered_day")
    live_notices = int(np.count_nonzero(nstate))
    assert live_notices + m.notices_answered + m.notices_unanswered == m.notices_created
    assert nt.next_uid == m.notices_created
    # Breach packs reach responders on their delivery day, never before.
    assert np.all(delivered[nstate == NoticeState.AWAITING_RESPONSE] <= m.day)
    assert np.all(delivered[nstate == NoticeState.IN_TRANSIT] > m.day)
