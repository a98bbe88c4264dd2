"""Conservation and capacity invariants, checked every day when a model is built with
``check_invariants=True`` (the tests do): people, orders, devices and notifications are
conserved, every person followed has its agent and is in exactly one state, orders belong
to people, no offence is committed in custody, everyone released was in custody, visits
wait only where they belong, no stock is negative, and no desk does more than its
capacity."""

from __future__ import annotations

import numpy as np

from em_abm.agents import Person
from em_abm.population import NO_DAY, NoticeState, PersonState, State, Visit


def check(model) -> None:
    """Assert every invariant of ``model`` on the day just simulated."""
    m, s = model, model.stages
    o = m.orders
    n = o.n
    live = int(np.count_nonzero(o.state[:n]))
    # Every order ever created is live (in exactly one state) or closed.
    assert live + m.orders_closed == o.next_uid, "orders not conserved"
    assert set(np.unique(o.state[:n])) <= {int(x) for x in State}
    _check_people(m)
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


def _check_people(m) -> None:
    """People: conserved, each in exactly one state with one agent; orders belong to people;
    no offence in custody; everyone released was in custody."""
    pt, o, people = m.people, m.orders, m.stages.people
    n = pt.n
    state = pt.state[:n]
    live = np.flatnonzero(state)
    assert set(np.unique(state)) <= {int(x) for x in PersonState}, "a person in no state"
    assert len(live) + people.people_left == pt.next_uid == people.people_entered, "people"
    in_model = m.agents_by_type.get(Person, ())
    assert len(pt.agent) == n and all(a.slot == i for i, a in enumerate(pt.agent)), "slots"
    assert len(live) == len(in_model), "agents of people who left kept"
    assert all(pt.agent[i] in in_model for i in live.tolist()), "a person without an agent"
    # Every active order belongs to a live person, on it (an ended order waiting only for
    # its tag's removal may outlast its person's following).
    orders = o.live()
    orders = orders[o.state[orders] != State.AWAITING_REMOVAL]
    owner = o.person[orders]
    assert np.all(pt.state[owner] == PersonState.ON_ORDER), "an active order of nobody"
    assert np.all(pt.order[owner] == orders), "an active order that is not its person's"
    # A person on an order has it live, in an active state, and it is theirs.
    on = live[state[live] == PersonState.ON_ORDER]
    slots = pt.order[on]
    assert np.all(slots >= 0) and np.all(o.uid[slots] == pt.order_uid[on]), "lost order"
    assert np.all(o.person[slots] == on), "an order that is not its person's"
    # No offence in custody: nobody in custody since before today offended after admission.
    held = live[state[live] == PersonState.CUSTODY]
    since, last = pt.custody_since[held], pt.last_offence_day[held]
    assert np.all((last == NO_DAY) | (last <= since)), "an offence in custody"
    assert np.all(pt.release_day[held] > m.day), "a person held past release"
    assert np.all(since <= m.day)
    # Everyone released was in custody: admissions = releases + people held now + those who
    # left from custody (none do: people leave only from liberty).
    assert people.admitted == people.released + len(held), "custody not conserved"
    # The running totals the daily pass counts skipped people by are exact (for tomorrow),
    # and everyone at liberty or in custody is due a visit after today.
    agg = np.zeros_like(people.agg)
    from em_abm.kernels.people import membership

    membership(live, m.day + 1, 1, pt.state, pt.f_start, pt.rate_fx, pt.working,
               people.followup_days, agg)  # fmt: skip
    assert np.array_equal(agg, people.agg), ("running totals", agg, people.agg)
    assert np.all(pt.next_day[live] > m.day), "a person never visited again"
    # A person on an order not due tomorrow has the working tag (or not) the last visit saw:
    # whatever changed it brought the visit forward.
    later = on[pt.next_day[on] > m.day + 1]
    slots = pt.order[later]
    works = (o.state[slots] == State.FITTED) & (
        o.disconnected_day[slots] > m.day + 1 - m.p["behaviour.unmonitored_after_days"]
    )
    assert np.array_equal(works, pt.working[later]), "a tag's working changed unseen"
