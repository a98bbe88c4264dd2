"""Mesa agent types of em-abm, one module each."""

from em_abm.agents.agencies import Court, EquipmentSupplier, HomeOffice, Prison, Requester
from em_abm.agents.field_officer import FieldOfficer
from em_abm.agents.monitoring import MonitoringCentre
from em_abm.agents.person import Person
from em_abm.agents.police import PoliceForce
from em_abm.agents.probation import ProbationOfficer

__all__ = [
    "Court",
    "EquipmentSupplier",
    "FieldOfficer",
    "HomeOffice",
    "MonitoringCentre",
    "Person",
    "PoliceForce",
    "Prison",
    "ProbationOfficer",
    "Requester",
]
