"""Kernels of the supply stage (:mod:`em_abm.stages.supply`): the supplier's reorders."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def reorder_quantities(stock, on_order, expected_daily_fits, reorder_point_days,
                       order_up_to_days, supply_multiplier):  # fmt: skip
    """Devices to order for each region and tag type: where stock plus deliveries due is
    below the reorder point (days of expected fits), up to the order-up-to level, times the
    supply multiplier (rounded down). Returns the quantities and their total."""
    qty = np.zeros(stock.shape, dtype=np.int64)
    total = np.int64(0)
    flat_qty, flat_stock = qty.reshape(-1), stock.reshape(-1)
    flat_due, flat_fits = on_order.reshape(-1), expected_daily_fits.reshape(-1)
    for i in range(flat_qty.shape[0]):
        position = flat_stock[i] + flat_due[i]
        if position < reorder_point_days * flat_fits[i]:
            target = np.int64(np.ceil(order_up_to_days * flat_fits[i]))
            q = np.int64(np.floor(max(target - position, 0) * supply_multiplier))
            flat_qty[i] = q
            total += q
    return qty, total
