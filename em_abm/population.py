"""Array-backed state of orders and wearers (a struct of numpy arrays indexed by slot).

About 37,000 orders are live at once and over 300,000 pass through in three years, so
per-day state lives in numpy arrays and daily work is vectorised over them (as in
Starsim). A slot holds one order from its arrival until it closes; closed slots are reused
by later orders, so the arrays stay about the size of the live population. Each order has a
permanent ``uid``. Orders are episodes of people (:class:`PersonTable`), whom the model
follows through orders, custody and release; :class:`~em_abm.agents.person.Person` agents
point at their person's slot.

Every live order is in exactly one :class:`State`. Independently, it may be waiting for a
field visit (:class:`Visit`); a fitted order can wait for an equipment check while staying
``FITTED``. Breach notifications live in a second table of the same kind
(:class:`NotificationTable`) from the moment the breach pack is sent until the responder
acts on it or it expires.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar

import numpy as np

from em_abm.kernels.core import lowest_free, view
from em_abm.kernels.plans import SOURCES


class State(IntEnum):
    FREE = 0  # slot not in use
    REWORK = 1  # order arrived with errors; the requester is correcting it
    AWAITING_FIT = 2  # clean order waiting for (another) fitting attempt
    ESCALATED = 3  # two attempts failed; back with the requester for review
    UNTAGGED = 4  # active order left without a tag until it ends
    FITTED = 5  # tag fitted and monitored
    AWAITING_REMOVAL = 6  # order ended; device still with the wearer until removal


ACTIVE_STATES = (State.REWORK, State.AWAITING_FIT, State.ESCALATED, State.UNTAGGED, State.FITTED)
N_STATES = len(State)


class Visit(IntEnum):
    NONE = 0
    FIT = 1
    CHECK = 2
    REMOVAL = 3


NO_DAY = np.iinfo(np.int32).max  # "never" for day fields

# name -> dtype of each per-order field
ORDER_FIELDS: dict[str, type] = {
    "uid": np.int64,
    "person": np.int64,  # slot of the order's person in the PersonTable
    "person_uid": np.int64,  # that person's number (the slot may pass to someone else)
    "state": np.int8,
    "cohort": np.int8,
    "tag": np.int8,
    "risk": np.int8,  # assessed risk, what policies see: 0 low, 1 medium, 2 high
    "true_risk": np.int8,  # the person's true risk level (behaviour hazards)
    "area": np.int16,
    "region": np.int8,
    "received_day": np.int32,  # day the order reached the supplier
    "end_day": np.int32,  # day the order ends
    "ready_day": np.int32,  # day the next step is due (rework done, review done, visit due)
    "visit": np.int8,  # Visit pending
    "attempts": np.int8,  # failed fitting attempts in the current round
    "attempts_total": np.int16,  # fitting attempts over all rounds
    "rounds": np.int8,  # rounds of attempts started
    "first_round_open": np.bool_,  # the first two attempts are not yet concluded
    "fitted_day": np.int32,  # day the tag was (last) fitted; NO_DAY if never
    "disconnected_day": np.int32,  # day the device lost contact; NO_DAY while connected
    "propensity": np.float32,  # individual multiplier on violation hazards (mean 1)
    # Daily hazards derived from the fields above and the parameters (EMModel._refresh_hazards)
    "h_violation": np.float32,  # violation while monitored
    "h_tamper": np.float32,  # tampering or absconding while monitored
    "behaviour_key": np.uint64,  # hash of key for the daily behaviour draws
    "notifications": np.int16,  # breach notifications sent about this order
    "to_custody": np.bool_,  # the order ended because the wearer went into custody
    "proximity": np.bool_,  # under a victim-proximity condition (pilot)
    "key": np.uint64,  # the order's random key: its common random numbers derive from it
}

# Breach notifications (stage 6) from sending to their outcome (stage 7).
NOTIFICATION_FIELDS: dict[str, type] = {
    "uid": np.int64,
    "state": np.int8,  # NoticeState
    "order_slot": np.int64,
    "order_uid": np.int64,
    "person": np.int64,  # slot of the person the breach is about (PersonTable)
    "person_uid": np.int64,
    "cohort": np.int8,
    "risk": np.int8,
    "serious": np.bool_,
    "region": np.int8,
    "area": np.int16,
    "responder": np.int8,  # index into RESPONDERS
    "breach_time": np.float64,  # model day (fractional) of the breach
    "sent_time": np.float64,  # model day (fractional) the breach pack was sent
    "delivered_day": np.int32,  # first day the responder can act on it
    "key": np.uint64,
}


class PersonState(IntEnum):
    FREE = 0  # slot not in use (the person has left the model)
    LIBERTY = 1  # at liberty, not on an active order (after an order, or one declined)
    ON_ORDER = 2  # on an active order: awaiting its fit, tagged, or untagged
    CUSTODY = 3  # in custody (remand, recall, detention or sentence) until release_day


# The people the model follows: everyone with an order, from their first request until they
# leave (at liberty, with no order, past their after-order and follow-up periods).
PERSON_FIELDS: dict[str, type] = {
    "uid": np.int64,
    "agent_id": np.int64,  # Mesa ``unique_id`` of the person's agent (Person.unique_id)
    "state": np.int8,  # PersonState
    "cohort": np.int8,  # cohort of the person's first order (sets the offending rate)
    "area": np.int16,  # home area
    "risk": np.int8,  # assessed risk level (what policies see)
    "true_risk": np.int8,  # true risk level (quantile of the latent score)
    "score": np.float32,  # assessed risk score (standard normal, correlated with true)
    "rate": np.float32,  # daily offending hazard at liberty, untagged
    "rate_fx": np.int64,  # the same in fixed point (kernels.people.RATE_ONE), for totals
    "propensity": np.float32,  # individual multiplier on violation hazards (mean 1)
    "key": np.uint64,  # the person's random key (daily offending draws, later orders)
    "offence_key": np.uint64,  # hash the daily offending draws start from
    "order": np.int64,  # slot of the current order in the OrderTable (-1: none)
    "order_uid": np.int64,
    "episodes": np.int16,  # orders started (numbers the keys of later orders)
    "tagged_episode": np.bool_,  # the current or last order had a tag fitted
    "custody_kind": np.int8,  # index into params.CUSTODY_KINDS while in custody
    "custody_since": np.int32,
    "release_day": np.int32,
    "after_until": np.int32,  # the after-removal period lasts until this day
    "track_until": np.int32,  # followed at least until this day
    "last_offence_day": np.int32,
    "f_start": np.int32,  # start of the person-level follow-up (NO_DAY: not in the cohort)
    "f_cohort": np.int8,  # cohort of the order that started the follow-up
    "f_proven": np.bool_,  # a proven offence inside the follow-up
    # Offending as a Poisson process in cumulative-hazard time (kernels.people)
    "cumhaz": np.float64,  # cumulative hazard up to the start of cum_day
    "cum_day": np.int32,
    "h_now": np.float64,  # the daily hazard since cum_day (constant between visits)
    "target": np.float64,  # the cumulative hazard at which the next offence happens
    "n_offences": np.int32,  # offences so far (numbers the next threshold)
    "next_day": np.int32,  # the next day the daily pass needs to visit the person
    "working": np.bool_,  # on an order with a working tag (as of the last visit)
}


class NoticeState(IntEnum):
    FREE = 0
    IN_TRANSIT = 1  # breach pack being prepared and sent
    AWAITING_RESPONSE = 2  # with the responder


class SlotTable:
    """Growable struct-of-arrays (fields given by ``FIELDS``); ``state == 0`` marks a free
    slot, to be reused before the arrays grow."""

    FIELDS: ClassVar[dict[str, type]] = {}
    # Whether every freed slot is reported (release, freed), so that allocation can take the
    # lowest from a list of them (the people table: few of its slots are free, and a scan
    # would cross most of it); otherwise allocation scans for them.
    TRACK_FREE: ClassVar[bool] = True
    # Fields stored together, a row of 64 bytes (one cache line) per slot: each field is
    # still an array attribute, a strided view of the row. For fields read together for
    # scattered slots (the people pass visits a few thousand of 180,000 people a day): one
    # line fetched from memory per slot instead of one per field. Fields scanned over all
    # slots are better left apart.
    GROUPS: ClassVar[tuple[tuple[str, ...], ...]] = ()

    def __init__(self, capacity: int = 1024, extra: dict[str, type] | None = None):
        """``extra``: fields that components declare (``order_fields``, ``notice_fields``),
        added to the table's own :attr:`FIELDS`."""
        capacity = max(int(capacity), 16)
        self.fields = dict(self.FIELDS)
        for name, dtype in (extra or {}).items():
            if name in self.fields and np.dtype(self.fields[name]) != np.dtype(dtype):
                raise ValueError(
                    f"field {name!r} declared twice, as {self.fields[name]} and {dtype}"
                )
            self.fields[name] = dtype
        # Declared fields start at zero for each new row (a reused slot keeps nothing of the
        # row before); the table's own fields are written by the stage that creates rows.
        self.extra = [name for name in self.fields if name not in self.FIELDS]
        self._grouped = {name for group in self.GROUPS for name in group}
        for name, dtype in self.fields.items():
            if name not in self._grouped:
                setattr(self, name, np.zeros(capacity, dtype=dtype))
        self._rows = [self._rows_of(group, capacity) for group in self.GROUPS]
        self.capacity = capacity
        self.generation = 0  # how many times the arrays were replaced by larger ones
        self._views: dict = {}
        self.n = 0  # slots [0, n) have ever been used
        self._free = np.empty(0, dtype=np.int64)  # free slots below n, sorted (TRACK_FREE)
        self.next_uid = 0

    def __getstate__(self) -> dict:
        """Copies and pickles keep grouped fields as views of their rows (a field stored as an
        array of its own would no longer be written to the rows)."""
        state = self.__dict__.copy()
        for name in self._grouped:
            del state[name]
        state["_views"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for group, rows in zip(self.GROUPS, self._rows, strict=True):
            for name in group:
                setattr(self, name, rows[name])

    def _rows_of(self, group: tuple[str, ...], capacity: int) -> np.ndarray:
        """Zeroed rows of ``group``'s fields, 64 bytes each, starting on a 64-byte boundary;
        the fields' attributes are set to views of them."""
        wide_first = sorted(group, key=lambda name: -np.dtype(self.fields[name]).itemsize)
        packed = np.dtype([(name, self.fields[name]) for name in wide_first], align=True)
        if packed.itemsize > 64:
            raise ValueError(f"fields {group} take {packed.itemsize} bytes, over 64")
        row = np.dtype({"names": packed.names, "itemsize": 64,
                        "formats": [packed.fields[n][0] for n in packed.names],
                        "offsets": [packed.fields[n][1] for n in packed.names]})  # fmt: skip
        raw = np.zeros(capacity * 64 + 64, dtype=np.uint8)
        start = -raw.ctypes.data % 64
        rows = raw[start : start + capacity * 64].view(row)
        for name in group:
            setattr(self, name, rows[name])
        return rows

    def _grow(self, needed: int) -> None:
        new_cap = max(self.capacity * 2, needed)
        for name, dtype in self.fields.items():
            if name in self._grouped:
                continue
            old = getattr(self, name)
            arr = np.zeros(new_cap, dtype=dtype)
            arr[: self.capacity] = old
            setattr(self, name, arr)
        for i, group in enumerate(self.GROUPS):
            old = self._rows[i]
            self._rows[i] = self._rows_of(group, new_cap)
            self._rows[i][: self.capacity] = old
        self.capacity = new_cap
        self.generation += 1

    def allocate(self, k: int) -> np.ndarray:
        """Slots for ``k`` new rows (free slots first, lowest index first), with fresh uids."""
        take = np.empty(k, dtype=np.int64)
        if k == 0:
            return take
        if self.TRACK_FREE:  # the free slots are known, lowest first
            found = min(k, len(self._free))
            take[:found] = self._free[:found]
            self._free = self._free[found:]
        else:
            found = lowest_free(self.state, self.n, take)
        extra = k - found
        if extra:
            if self.n + extra > self.capacity:
                self._grow(self.n + extra)
            take[found:] = np.arange(self.n, self.n + extra)
            self.n += extra
        for name in self.extra:
            getattr(self, name)[take] = 0
        self.uid[take] = np.arange(self.next_uid, self.next_uid + k)
        self.next_uid += k
        return take

    def release(self, slots: np.ndarray) -> None:
        self.state[slots] = 0
        self.freed(slots)

    def freed(self, slots: np.ndarray) -> None:
        """Note slots freed (``state`` set to 0) outside :meth:`release`, as a compiled pass
        does: :meth:`allocate` takes the lowest free slots from a sorted list of them."""
        if self.TRACK_FREE and len(slots):
            # np.union1d, without its generality (46 µs for a few hundred slots)
            free = np.concatenate((self._free, slots))
            free.sort()
            keep = np.empty(len(free), dtype=bool)
            keep[0] = True
            np.not_equal(free[1:], free[:-1], out=keep[1:])
            self._free = free[keep]

    def live(self) -> np.ndarray:
        """Slots in use."""
        return np.flatnonzero(self.state[: self.n])

    def views(self, cls):
        """The named view ``cls`` of this table's arrays (:func:`em_abm.kernels.view`, with
        the field names :data:`em_abm.kernels.SOURCES` gives), made again only when the arrays
        have been replaced (the table grew)."""
        hit = self._views.get(cls)
        if hit is None or hit[0] != self.generation:
            prefix, rename = SOURCES.get(cls, ("", {}))
            hit = self._views[cls] = (self.generation, view(cls, self, prefix, **rename))
        return hit[1]

    def view(self, name: str) -> np.ndarray:
        """Field ``name`` over the used slots [0, n)."""
        return getattr(self, name)[: self.n]


class OrderTable(SlotTable):
    """Orders: episodes of a person (``person``), from the request to the removal of the
    tag."""

    FIELDS = ORDER_FIELDS
    # Orders close every day in small batches and a third of the slots are free at any time:
    # a scan from the lowest slot finds them at once, where keeping a list would cost more.
    TRACK_FREE = False

    def release(self, slots: np.ndarray) -> None:
        self.visit[slots] = Visit.NONE
        super().release(slots)


class PersonTable(SlotTable):
    """People, with ``agent``: a list of the :class:`~em_abm.agents.person.Person` of each
    slot ever used (``agent[i]`` belongs to slot ``i``; it is in the model while the slot's
    person is followed, and joins it again for each later person in the slot).

    A list rather than an object array: agents refer to their model, which refers to this
    table, and Python's collector can follow that cycle through a list but not through a
    numpy array, so a finished model held in an object array would never be freed.
    """

    FIELDS = PERSON_FIELDS
    # What the people pass reads and writes for each person it visits (kernels.people):
    # every visit, then on an order, an offence or in custody.
    GROUPS = (
        ("state", "f_start", "working", "rate_fx", "cumhaz", "h_now", "cum_day", "target",
         "rate", "true_risk", "tagged_episode", "after_until", "track_until"),
        ("offence_key", "order", "order_uid", "release_day", "last_offence_day", "n_offences",
         "f_cohort", "f_proven"),
    )  # fmt: skip

    def __init__(self, capacity: int = 1024, extra: dict[str, type] | None = None):
        super().__init__(capacity, extra)
        self.agent: list = []


class NotificationTable(SlotTable):
    FIELDS = NOTIFICATION_FIELDS
    TRACK_FREE = False  # the responses kernels free answered and lapsed notices
