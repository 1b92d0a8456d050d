"""Python firm client for the Stackelberg market protocol (``stackelberg.v1``) over NATS.

* :mod:`stackelberg.pb` -- the generated protobuf messages (``stackelberg.pb.MoveRequest`` ...).
* :mod:`stackelberg.client` -- :class:`~stackelberg.client.FirmClient`, the asyncio firm client.
* :mod:`stackelberg.validate` -- the checks the client runs on move requests and outcomes off the wire.
* :mod:`stackelberg.blocking` -- a blocking wrapper for scripts.
* :mod:`stackelberg.best_response` -- best-response maths for linear demand and cost.
* :mod:`stackelberg.examples.br_follower` -- a runnable best-response follower.

The wire contract is ``proto/stackelberg/v1/stackelberg.proto`` and ``docs/protocol.md``.
"""

from .client import (
    FirmClient,
    RegistrationRefused,
    RegisterTimeout,
    RunFailed,
    StackelbergError,
    committed_total,
    inbox_prefix,
    subjects,
)

__all__ = [
    "FirmClient",
    "RegistrationRefused",
    "RegisterTimeout",
    "RunFailed",
    "StackelbergError",
    "committed_total",
    "inbox_prefix",
    "subjects",
]
__version__ = "0.1.0"
