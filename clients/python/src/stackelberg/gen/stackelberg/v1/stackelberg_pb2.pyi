from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProtocolVersion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROTOCOL_VERSION_UNSPECIFIED: _ClassVar[ProtocolVersion]
    PROTOCOL_VERSION_1: _ClassVar[ProtocolVersion]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_LEADER: _ClassVar[Role]
    ROLE_FOLLOWER: _ClassVar[Role]

class RejectCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_CODE_UNSPECIFIED: _ClassVar[RejectCode]
    OUT_OF_ORDER: _ClassVar[RejectCode]
    DUPLICATE: _ClassVar[RejectCode]
    UNKNOWN_FIRM: _ClassVar[RejectCode]
    LATE: _ClassVar[RejectCode]
    MALFORMED: _ClassVar[RejectCode]
    INVALID_QUANTITY: _ClassVar[RejectCode]
    WRONG_BATCH: _ClassVar[RejectCode]
    VERSION: _ClassVar[RejectCode]
    NOT_IN_RUN: _ClassVar[RejectCode]

class DefaultAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEFAULT_ACTION_UNSPECIFIED: _ClassVar[DefaultAction]
    DEFAULT_LAST: _ClassVar[DefaultAction]
    DEFAULT_ZERO: _ClassVar[DefaultAction]
    DEFAULT_EXCLUDE: _ClassVar[DefaultAction]

class ObservationColumn(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OBSERVATION_COLUMN_UNSPECIFIED: _ClassVar[ObservationColumn]
    DEMAND_SHIFT: _ClassVar[ObservationColumn]
    LAST_PRICE: _ClassVar[ObservationColumn]
    LAST_TOTAL_QUANTITY: _ClassVar[ObservationColumn]
    STEP_FRACTION: _ClassVar[ObservationColumn]

class ControlKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTROL_KIND_UNSPECIFIED: _ClassVar[ControlKind]
    PHASE_CHANGE: _ClassVar[ControlKind]
    END_OF_RUN: _ClassVar[ControlKind]
    START: _ClassVar[ControlKind]
    CHECKPOINT: _ClassVar[ControlKind]
    REGISTER: _ClassVar[ControlKind]
PROTOCOL_VERSION_UNSPECIFIED: ProtocolVersion
PROTOCOL_VERSION_1: ProtocolVersion
ROLE_UNSPECIFIED: Role
ROLE_LEADER: Role
ROLE_FOLLOWER: Role
REJECT_CODE_UNSPECIFIED: RejectCode
OUT_OF_ORDER: RejectCode
DUPLICATE: RejectCode
UNKNOWN_FIRM: RejectCode
LATE: RejectCode
MALFORMED: RejectCode
INVALID_QUANTITY: RejectCode
WRONG_BATCH: RejectCode
VERSION: RejectCode
NOT_IN_RUN: RejectCode
DEFAULT_ACTION_UNSPECIFIED: DefaultAction
DEFAULT_LAST: DefaultAction
DEFAULT_ZERO: DefaultAction
DEFAULT_EXCLUDE: DefaultAction
OBSERVATION_COLUMN_UNSPECIFIED: ObservationColumn
DEMAND_SHIFT: ObservationColumn
LAST_PRICE: ObservationColumn
LAST_TOTAL_QUANTITY: ObservationColumn
STEP_FRACTION: ObservationColumn
CONTROL_KIND_UNSPECIFIED: ControlKind
PHASE_CHANGE: ControlKind
END_OF_RUN: ControlKind
START: ControlKind
CHECKPOINT: ControlKind
REGISTER: ControlKind

class Demand(_message.Message):
    __slots__ = ("linear", "constant_elasticity", "exponential")
    LINEAR_FIELD_NUMBER: _ClassVar[int]
    CONSTANT_ELASTICITY_FIELD_NUMBER: _ClassVar[int]
    EXPONENTIAL_FIELD_NUMBER: _ClassVar[int]
    linear: LinearDemand
    constant_elasticity: ConstantElasticityDemand
    exponential: ExponentialDemand
    def __init__(self, linear: _Optional[_Union[LinearDemand, _Mapping]] = ..., constant_elasticity: _Optional[_Union[ConstantElasticityDemand, _Mapping]] = ..., exponential: _Optional[_Union[ExponentialDemand, _Mapping]] = ...) -> None: ...

class LinearDemand(_message.Message):
    __slots__ = ("a", "b")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    a: float
    b: float
    def __init__(self, a: _Optional[float] = ..., b: _Optional[float] = ...) -> None: ...

class ConstantElasticityDemand(_message.Message):
    __slots__ = ("scale", "elasticity")
    SCALE_FIELD_NUMBER: _ClassVar[int]
    ELASTICITY_FIELD_NUMBER: _ClassVar[int]
    scale: float
    elasticity: float
    def __init__(self, scale: _Optional[float] = ..., elasticity: _Optional[float] = ...) -> None: ...

class ExponentialDemand(_message.Message):
    __slots__ = ("a", "b")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    a: float
    b: float
    def __init__(self, a: _Optional[float] = ..., b: _Optional[float] = ...) -> None: ...

class Cost(_message.Message):
    __slots__ = ("linear", "quadratic", "learning_by_doing", "fixed")
    LINEAR_FIELD_NUMBER: _ClassVar[int]
    QUADRATIC_FIELD_NUMBER: _ClassVar[int]
    LEARNING_BY_DOING_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    linear: LinearCost
    quadratic: QuadraticCost
    learning_by_doing: LearningByDoingCost
    fixed: float
    def __init__(self, linear: _Optional[_Union[LinearCost, _Mapping]] = ..., quadratic: _Optional[_Union[QuadraticCost, _Mapping]] = ..., learning_by_doing: _Optional[_Union[LearningByDoingCost, _Mapping]] = ..., fixed: _Optional[float] = ...) -> None: ...

class LinearCost(_message.Message):
    __slots__ = ("c",)
    C_FIELD_NUMBER: _ClassVar[int]
    c: float
    def __init__(self, c: _Optional[float] = ...) -> None: ...

class QuadraticCost(_message.Message):
    __slots__ = ("c", "d")
    C_FIELD_NUMBER: _ClassVar[int]
    D_FIELD_NUMBER: _ClassVar[int]
    c: float
    d: float
    def __init__(self, c: _Optional[float] = ..., d: _Optional[float] = ...) -> None: ...

class LearningByDoingCost(_message.Message):
    __slots__ = ("c0", "c_min", "rate")
    C0_FIELD_NUMBER: _ClassVar[int]
    C_MIN_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    c0: float
    c_min: float
    rate: float
    def __init__(self, c0: _Optional[float] = ..., c_min: _Optional[float] = ..., rate: _Optional[float] = ...) -> None: ...

class FirmInfo(_message.Message):
    __slots__ = ("firm_id", "role", "tier", "cost")
    FIRM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    firm_id: str
    role: Role
    tier: int
    cost: Cost
    def __init__(self, firm_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., tier: _Optional[int] = ..., cost: _Optional[_Union[Cost, _Mapping]] = ...) -> None: ...

class RunParams(_message.Message):
    __slots__ = ("run_id", "batch", "rounds_per_episode", "total_rounds", "tiers", "quantity_max", "deadline_ms", "demand", "shock_rho", "shock_sigma", "adjustment_cost", "default_action", "max_misses", "firms", "seed", "observation_columns")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_PER_EPISODE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MAX_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    DEMAND_FIELD_NUMBER: _ClassVar[int]
    SHOCK_RHO_FIELD_NUMBER: _ClassVar[int]
    SHOCK_SIGMA_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENT_COST_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_ACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_MISSES_FIELD_NUMBER: _ClassVar[int]
    FIRMS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_COLUMNS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    batch: int
    rounds_per_episode: int
    total_rounds: int
    tiers: int
    quantity_max: float
    deadline_ms: int
    demand: Demand
    shock_rho: float
    shock_sigma: float
    adjustment_cost: float
    default_action: DefaultAction
    max_misses: int
    firms: _containers.RepeatedCompositeFieldContainer[FirmInfo]
    seed: int
    observation_columns: _containers.RepeatedScalarFieldContainer[ObservationColumn]
    def __init__(self, run_id: _Optional[str] = ..., batch: _Optional[int] = ..., rounds_per_episode: _Optional[int] = ..., total_rounds: _Optional[int] = ..., tiers: _Optional[int] = ..., quantity_max: _Optional[float] = ..., deadline_ms: _Optional[int] = ..., demand: _Optional[_Union[Demand, _Mapping]] = ..., shock_rho: _Optional[float] = ..., shock_sigma: _Optional[float] = ..., adjustment_cost: _Optional[float] = ..., default_action: _Optional[_Union[DefaultAction, str]] = ..., max_misses: _Optional[int] = ..., firms: _Optional[_Iterable[_Union[FirmInfo, _Mapping]]] = ..., seed: _Optional[int] = ..., observation_columns: _Optional[_Iterable[_Union[ObservationColumn, str]]] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ("protocol_version", "firm_id", "role", "tier", "capabilities", "preparing")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIRM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PREPARING_FIELD_NUMBER: _ClassVar[int]
    protocol_version: ProtocolVersion
    firm_id: str
    role: Role
    tier: int
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    preparing: bool
    def __init__(self, protocol_version: _Optional[_Union[ProtocolVersion, str]] = ..., firm_id: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., tier: _Optional[int] = ..., capabilities: _Optional[_Iterable[str]] = ..., preparing: _Optional[bool] = ...) -> None: ...

class RegisterReply(_message.Message):
    __slots__ = ("accepted", "reject", "params", "firm_index", "current_round")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    FIRM_INDEX_FIELD_NUMBER: _ClassVar[int]
    CURRENT_ROUND_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    reject: Reject
    params: RunParams
    firm_index: int
    current_round: int
    def __init__(self, accepted: _Optional[bool] = ..., reject: _Optional[_Union[Reject, _Mapping]] = ..., params: _Optional[_Union[RunParams, _Mapping]] = ..., firm_index: _Optional[int] = ..., current_round: _Optional[int] = ...) -> None: ...

class TierQuantities(_message.Message):
    __slots__ = ("tier", "firm_ids", "quantities")
    TIER_FIELD_NUMBER: _ClassVar[int]
    FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    tier: int
    firm_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, tier: _Optional[int] = ..., firm_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[float]] = ...) -> None: ...

class MoveRequest(_message.Message):
    __slots__ = ("run_id", "round", "episode", "step", "episode_end", "tier", "deadline_unix_ms", "batch", "observation", "committed", "tier_firm_ids", "own_last_quantity", "own_marginal_cost", "phase")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPISODE_END_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    TIER_FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    OWN_LAST_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    OWN_MARGINAL_COST_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    round: int
    episode: int
    step: int
    episode_end: bool
    tier: int
    deadline_unix_ms: float
    batch: int
    observation: _containers.RepeatedScalarFieldContainer[float]
    committed: _containers.RepeatedCompositeFieldContainer[TierQuantities]
    tier_firm_ids: _containers.RepeatedScalarFieldContainer[str]
    own_last_quantity: _containers.RepeatedScalarFieldContainer[float]
    own_marginal_cost: _containers.RepeatedScalarFieldContainer[float]
    phase: str
    def __init__(self, run_id: _Optional[str] = ..., round: _Optional[int] = ..., episode: _Optional[int] = ..., step: _Optional[int] = ..., episode_end: _Optional[bool] = ..., tier: _Optional[int] = ..., deadline_unix_ms: _Optional[float] = ..., batch: _Optional[int] = ..., observation: _Optional[_Iterable[float]] = ..., committed: _Optional[_Iterable[_Union[TierQuantities, _Mapping]]] = ..., tier_firm_ids: _Optional[_Iterable[str]] = ..., own_last_quantity: _Optional[_Iterable[float]] = ..., own_marginal_cost: _Optional[_Iterable[float]] = ..., phase: _Optional[str] = ...) -> None: ...

class Submission(_message.Message):
    __slots__ = ("run_id", "firm_id", "round", "quantities")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    FIRM_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    firm_id: str
    round: int
    quantities: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, run_id: _Optional[str] = ..., firm_id: _Optional[str] = ..., round: _Optional[int] = ..., quantities: _Optional[_Iterable[float]] = ...) -> None: ...

class Reject(_message.Message):
    __slots__ = ("code", "detail", "round", "firm_id", "subject")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    FIRM_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    code: RejectCode
    detail: str
    round: int
    firm_id: str
    subject: str
    def __init__(self, code: _Optional[_Union[RejectCode, str]] = ..., detail: _Optional[str] = ..., round: _Optional[int] = ..., firm_id: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class Outcome(_message.Message):
    __slots__ = ("run_id", "round", "episode", "step", "episode_end", "batch", "prices", "firm_ids", "quantities", "profits", "absent", "evicted", "cleared_unix_ms")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPISODE_END_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    PROFITS_FIELD_NUMBER: _ClassVar[int]
    ABSENT_FIELD_NUMBER: _ClassVar[int]
    EVICTED_FIELD_NUMBER: _ClassVar[int]
    CLEARED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    round: int
    episode: int
    step: int
    episode_end: bool
    batch: int
    prices: _containers.RepeatedScalarFieldContainer[float]
    firm_ids: _containers.RepeatedScalarFieldContainer[str]
    quantities: _containers.RepeatedScalarFieldContainer[float]
    profits: _containers.RepeatedScalarFieldContainer[float]
    absent: _containers.RepeatedScalarFieldContainer[bool]
    evicted: _containers.RepeatedScalarFieldContainer[bool]
    cleared_unix_ms: float
    def __init__(self, run_id: _Optional[str] = ..., round: _Optional[int] = ..., episode: _Optional[int] = ..., step: _Optional[int] = ..., episode_end: _Optional[bool] = ..., batch: _Optional[int] = ..., prices: _Optional[_Iterable[float]] = ..., firm_ids: _Optional[_Iterable[str]] = ..., quantities: _Optional[_Iterable[float]] = ..., profits: _Optional[_Iterable[float]] = ..., absent: _Optional[_Iterable[bool]] = ..., evicted: _Optional[_Iterable[bool]] = ..., cleared_unix_ms: _Optional[float] = ...) -> None: ...

class TrainingInfo(_message.Message):
    __slots__ = ("run_id", "round", "episode", "step", "episode_end", "batch", "firm_ids", "observation", "next_observation", "quantities", "profits", "marginal_costs", "prices")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPISODE_END_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    NEXT_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    QUANTITIES_FIELD_NUMBER: _ClassVar[int]
    PROFITS_FIELD_NUMBER: _ClassVar[int]
    MARGINAL_COSTS_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    round: int
    episode: int
    step: int
    episode_end: bool
    batch: int
    firm_ids: _containers.RepeatedScalarFieldContainer[str]
    observation: _containers.RepeatedScalarFieldContainer[float]
    next_observation: _containers.RepeatedScalarFieldContainer[float]
    quantities: _containers.RepeatedScalarFieldContainer[float]
    profits: _containers.RepeatedScalarFieldContainer[float]
    marginal_costs: _containers.RepeatedScalarFieldContainer[float]
    prices: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, run_id: _Optional[str] = ..., round: _Optional[int] = ..., episode: _Optional[int] = ..., step: _Optional[int] = ..., episode_end: _Optional[bool] = ..., batch: _Optional[int] = ..., firm_ids: _Optional[_Iterable[str]] = ..., observation: _Optional[_Iterable[float]] = ..., next_observation: _Optional[_Iterable[float]] = ..., quantities: _Optional[_Iterable[float]] = ..., profits: _Optional[_Iterable[float]] = ..., marginal_costs: _Optional[_Iterable[float]] = ..., prices: _Optional[_Iterable[float]] = ...) -> None: ...

class RunControl(_message.Message):
    __slots__ = ("run_id", "kind", "round", "phase", "training_firm_ids", "exploring_firm_ids", "reason", "checkpoint", "failed")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROUND_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TRAINING_FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    EXPLORING_FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    kind: ControlKind
    round: int
    phase: str
    training_firm_ids: _containers.RepeatedScalarFieldContainer[str]
    exploring_firm_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    checkpoint: str
    failed: bool
    def __init__(self, run_id: _Optional[str] = ..., kind: _Optional[_Union[ControlKind, str]] = ..., round: _Optional[int] = ..., phase: _Optional[str] = ..., training_firm_ids: _Optional[_Iterable[str]] = ..., exploring_firm_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., checkpoint: _Optional[str] = ..., failed: _Optional[bool] = ...) -> None: ...

class RoundStats(_message.Message):
    __slots__ = ("round", "episode", "step", "episode_end", "firm_ids", "price_mean", "quantity_means", "profit_means", "absent", "cleared_unix_ms")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    EPISODE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPISODE_END_FIELD_NUMBER: _ClassVar[int]
    FIRM_IDS_FIELD_NUMBER: _ClassVar[int]
    PRICE_MEAN_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_MEANS_FIELD_NUMBER: _ClassVar[int]
    PROFIT_MEANS_FIELD_NUMBER: _ClassVar[int]
    ABSENT_FIELD_NUMBER: _ClassVar[int]
    CLEARED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    round: int
    episode: int
    step: int
    episode_end: bool
    firm_ids: _containers.RepeatedScalarFieldContainer[str]
    price_mean: float
    quantity_means: _containers.RepeatedScalarFieldContainer[float]
    profit_means: _containers.RepeatedScalarFieldContainer[float]
    absent: _containers.RepeatedScalarFieldContainer[bool]
    cleared_unix_ms: float
    def __init__(self, round: _Optional[int] = ..., episode: _Optional[int] = ..., step: _Optional[int] = ..., episode_end: _Optional[bool] = ..., firm_ids: _Optional[_Iterable[str]] = ..., price_mean: _Optional[float] = ..., quantity_means: _Optional[_Iterable[float]] = ..., profit_means: _Optional[_Iterable[float]] = ..., absent: _Optional[_Iterable[bool]] = ..., cleared_unix_ms: _Optional[float] = ...) -> None: ...

class RoundStatsBatch(_message.Message):
    __slots__ = ("rounds",)
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    rounds: _containers.RepeatedCompositeFieldContainer[RoundStats]
    def __init__(self, rounds: _Optional[_Iterable[_Union[RoundStats, _Mapping]]] = ...) -> None: ...
