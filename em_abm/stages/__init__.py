"""The stages of the NAO's system (HC 266, Figure 1), one component each (see
:mod:`em_abm.component`). Importing this package registers them.

| stage | module |
|---|---|
| 1 supply of equipment | :mod:`em_abm.stages.supply` |
| 2 creation of orders | :mod:`em_abm.stages.orders` |
| 3 installation, 5 maintenance | :mod:`em_abm.stages.field` |
| 4 monitoring (wearers' behaviour) | :mod:`em_abm.stages.behaviour` |
| 4 monitoring (alert review) | :mod:`em_abm.stages.monitoring` |
| 6 breach packs | :mod:`em_abm.stages.breach_packs` |
| 7 response | :mod:`em_abm.stages.responses` |
| 8 removal | :mod:`em_abm.stages.removal` |
| reoffending (offending rates, tag effects, courts) | :mod:`em_abm.stages.reoffending` |
| people (custody, release, follow-up) | :mod:`em_abm.stages.people` |
"""

from em_abm.stages import (  # noqa: F401
    behaviour,
    breach_packs,
    field,
    monitoring,
    orders,
    people,
    removal,
    reoffending,
    responses,
    supply,
)
