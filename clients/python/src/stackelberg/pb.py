"""The protocol's messages and enums, re-exported from the generated module.

``from stackelberg import pb``; ``pb.MoveRequest``, ``pb.Submission``, ``pb.ROLE_FOLLOWER`` ...
The code is generated ahead of time by ``clients/python/gen.sh``; no ``.proto`` is read at run time.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, cast

from .gen.stackelberg.v1 import stackelberg_pb2 as _pb
from .gen.stackelberg.v1.stackelberg_pb2 import (
    ConstantElasticityDemand,
    ControlKind,
    Cost,
    DefaultAction,
    Demand,
    ExponentialDemand,
    FirmInfo,
    LearningByDoingCost,
    LinearCost,
    LinearDemand,
    MoveRequest,
    ObservationColumn,
    Outcome,
    ProtocolVersion,
    QuadraticCost,
    Register,
    RegisterReply,
    Reject,
    RejectCode,
    Role,
    RoundStats,
    RoundStatsBatch,
    RunControl,
    RunParams,
    Submission,
    TierQuantities,
    TrainingInfo,
)

PROTOCOL_VERSION_1 = _pb.PROTOCOL_VERSION_1
ROLE_LEADER = _pb.ROLE_LEADER
ROLE_FOLLOWER = _pb.ROLE_FOLLOWER
UNKNOWN_FIRM = _pb.UNKNOWN_FIRM
END_OF_RUN = _pb.END_OF_RUN
REGISTER = _pb.REGISTER

#: Every observation column of the contract, enum value name -> value, read from the generated
#: enum descriptor (so a column added to the ``.proto`` is here after ``gen.sh``).
OBSERVATION_COLUMNS: Final[Mapping[str, ObservationColumn]] = MappingProxyType(
    {
        name: cast(ObservationColumn, value)
        for name, value in ObservationColumn.items()
        if value != _pb.OBSERVATION_COLUMN_UNSPECIFIED
    }
)


def observation_column(name: str) -> ObservationColumn:
    """The value of observation column ``name`` (``"DEMAND_SHIFT"`` ...); :class:`KeyError` when
    the contract has no such column."""
    return OBSERVATION_COLUMNS[name]


# Typed module-level names of the columns (tests/test_wire.py checks that every column of the
# contract has one, so a new column cannot be forgotten here).
DEMAND_SHIFT: Final = observation_column("DEMAND_SHIFT")
LAST_PRICE: Final = observation_column("LAST_PRICE")
LAST_TOTAL_QUANTITY: Final = observation_column("LAST_TOTAL_QUANTITY")
STEP_FRACTION: Final = observation_column("STEP_FRACTION")


def column_name(column: int) -> str:
    """The display name of an observation column: its enum value name in lower case
    (``demand_shift``, ...), or ``column_<n>`` for a column of a newer contract."""
    if column != _pb.OBSERVATION_COLUMN_UNSPECIFIED and column in ObservationColumn.values():
        return ObservationColumn.Name(column).lower()
    return f"column_{column}"


__all__ = [
    "ConstantElasticityDemand",
    "ControlKind",
    "Cost",
    "DefaultAction",
    "Demand",
    "ExponentialDemand",
    "FirmInfo",
    "LearningByDoingCost",
    "LinearCost",
    "LinearDemand",
    "MoveRequest",
    "ObservationColumn",
    "Outcome",
    "ProtocolVersion",
    "QuadraticCost",
    "Register",
    "RegisterReply",
    "Reject",
    "RejectCode",
    "Role",
    "RoundStats",
    "RoundStatsBatch",
    "RunControl",
    "RunParams",
    "Submission",
    "TierQuantities",
    "TrainingInfo",
    "PROTOCOL_VERSION_1",
    "ROLE_LEADER",
    "ROLE_FOLLOWER",
    "UNKNOWN_FIRM",
    "END_OF_RUN",
    "REGISTER",
    "DEMAND_SHIFT",
    "LAST_PRICE",
    "LAST_TOTAL_QUANTITY",
    "STEP_FRACTION",
    "OBSERVATION_COLUMNS",
    "observation_column",
    "column_name",
]
