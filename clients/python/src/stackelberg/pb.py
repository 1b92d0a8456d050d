"""The protocol's messages and enums, re-exported from the generated module.

``from stackelberg import pb``; ``pb.MoveRequest``, ``pb.Submission``, ``pb.ROLE_FOLLOWER`` ...
The code is generated ahead of time by ``clients/python/gen.sh``; no ``.proto`` is read at run time.
"""

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
DEMAND_SHIFT = _pb.DEMAND_SHIFT
LAST_PRICE = _pb.LAST_PRICE
LAST_TOTAL_QUANTITY = _pb.LAST_TOTAL_QUANTITY
STEP_FRACTION = _pb.STEP_FRACTION


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
    "column_name",
]
