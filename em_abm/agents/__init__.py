"""Mesa agent types of em-abm, one module each."""

from em_abm.agents.agencies import Court, EquipmentSupplier, HomeOffice, Prison, Requester
from em_abm.agents.field_officer import FieldOfficer
from em_abm.agents.wearer import TagWearer

__all__ = [
    "Court",
    "EquipmentSupplier",
    "FieldOfficer",
    "HomeOffice",
    "Prison",
    "Requester",
    "TagWearer",
]
