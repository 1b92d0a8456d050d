"""Gymnasium and PettingZoo environments over a live run (``pip install 'stackelberg-client[envs]'``).

* :class:`FirmEnv` -- one firm as a :class:`gymnasium.Env`; the market and the other firms are remote.
* :class:`MarketAECEnv` -- several firms of one run, played from one process, as a PettingZoo
  :class:`~pettingzoo.AECEnv` (agents act in tier order, followers see the leaders' quantities).
"""

from ._core import RunEnded, obs_columns, observation
from .aec import MarketAECEnv, FirmSpec
from .firm_env import FirmEnv

__all__ = ["FirmEnv", "MarketAECEnv", "RunEnded", "FirmSpec", "obs_columns", "observation"]
