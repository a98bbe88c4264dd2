"""Stage 1, the supply of equipment: the supplier keeps each region stocked with each device.

The :class:`~em_abm.agents.agencies.EquipmentSupplier` starts with
``equipment.initial_stock_days`` of expected fits in each region; each day it compares a
region's stock plus deliveries due with a reorder point (in days of expected fits) and orders
up to a target; deliveries arrive after a lead time as Mesa timed events. Devices collected at
removal go back into stock; lost ones are replaced only through these orders.
"""

from __future__ import annotations

import numpy as np

from em_abm.agents import EquipmentSupplier
from em_abm.component import Component, register


@register
class Supply(Component):
    name = "supply"
    params = ("equipment.",)
    metrics = ("devices_in_stock", "devices_delivered")

    def setup(self) -> None:
        m = self.model
        expected = m.stages.orders.expected_daily_fits
        self.supplier = EquipmentSupplier(
            m, stock=np.ceil(m.p["equipment.initial_stock_days"] * expected)
        )

    def step(self, d: int) -> None:
        m = self.model
        p = m.p
        self.supplier.reorder(
            expected_daily_fits=m.stages.orders.expected_daily_fits,
            reorder_point_days=p["equipment.reorder_point_days"],
            order_up_to_days=p["equipment.order_up_to_days"],
            lead_time_days=p["equipment.lead_time_days"],
            supply_multiplier=p["equipment.supply_multiplier"],
            deliver_at=m.time_of_day_start(d + max(1, p["equipment.lead_time_days"])),
        )
