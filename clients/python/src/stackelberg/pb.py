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
]
