"""A Stable-Baselines3 follower: SB3's SAC (or PPO) trained on :class:`~stackelberg.envs.FirmEnv`.

Stable-Baselines3 (and torch) are **not** dependencies of this package: install them yourself
(``pip install stable-baselines3``); they are imported only when the example runs.

The B market instances of a round are B parallel environments to SB3: the adapter below is an SB3
``VecEnv`` of ``num_envs = B`` over one ``FirmEnv``. Observation per instance: the ``FirmEnv`` row
(the run's observation columns, then the leaders' committed total) over ``quantity_max``; action:
one number in [-1, 1], mapped to a quantity in [0, quantity_max]; reward: the firm's profit in that
instance (normalised by SB3's ``VecNormalize``). ``FirmEnv`` does not report the run's training
phases, so the example trains for ``--train-rounds`` rounds (the follower phase of the experiment)
and then plays its policy's mean (deterministic) until the end of the run::

    python -m stackelberg.examples.sb3_follower --nats nats://127.0.0.1:4222 --run p1 \\
        --firm follower --creds auth/firm-follower.nk --train-rounds 200 [--algo sac|ppo] [--seed 1]

SAC (the default) learns from a replay buffer, a few gradient steps per round; PPO from the last
``--n-steps`` rounds. With the profit objective every round is a one-step episode (gamma 0).

Prints one line and one JSON line, as ``learning_follower`` does: the quantity played and the
leaders' over the last rounds, and the wall time. Exits 0 at the end of the run, 1 on an error,
2 when Stable-Baselines3 is not installed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from ..client import StackelbergError, tls_context
from ..envs import FirmEnv, RunEnded
from ._cli import firm_parser, write_result

Array = npt.NDArray[np.float64]

__all__ = ["main", "make_vec_env", "run"]


def make_vec_env(env: FirmEnv) -> Any:
    """An SB3 ``VecEnv`` of ``B`` environments over one :class:`FirmEnv` (imports SB3)."""
    from gymnasium import spaces

    vec_env_mod = importlib.import_module("stable_baselines3.common.vec_env")
    base: type = vec_env_mod.VecEnv
    B = int(env.params.batch)
    k = len(env.columns)
    qmax = float(env.params.quantity_max)

    class FirmVecEnv(base):  # type: ignore[misc]
        """Instance i of every round is environment i; all are done together at an episode's end."""

        def __init__(self) -> None:
            self.env = env  # before VecEnv.__init__, which reads render_mode through get_attr
            super().__init__(
                B,
                spaces.Box(-np.inf, np.inf, shape=(k,), dtype=np.float32),
                spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32),
            )
            self._actions: Array = np.zeros(B)
            #: Per round: the mean quantity this firm was cleared at and the leaders' mean quantity.
            self.played: list[tuple[float, float]] = []
            self._obs: Array = np.zeros((B, k))

        def reset(self) -> Any:
            obs, _ = self.env.reset()
            self._obs = obs
            return (obs / qmax).astype(np.float32)

        def step_async(self, actions: Any) -> None:
            a = np.clip(np.asarray(actions, dtype=np.float64).reshape(B), -1.0, 1.0)
            self._actions = (a + 1.0) * 0.5 * qmax

        def step_wait(self) -> Any:
            committed = float(self._obs[:, -1].mean())
            obs, _, terminated, truncated, info = self.env.step(self._actions)
            self.played.append((float(np.mean(info["quantities"])), committed))
            done = bool(terminated or truncated)
            infos: list[dict[str, Any]] = [{} for _ in range(B)]
            scaled = (obs / qmax).astype(np.float32)
            if done:
                for i in range(B):
                    infos[i]["terminal_observation"] = scaled[i]
                obs, _ = self.env.reset()
                scaled = (obs / qmax).astype(np.float32)
            self._obs = obs
            return scaled, np.asarray(info["profits"], dtype=np.float32), np.full(B, done), infos

        def close(self) -> None:
            self.env.close()

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            return [getattr(self.env, attr_name)] * len(self._indices(indices))

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            setattr(self.env, attr_name, value)

        def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
            return [getattr(self.env, method_name)(*args, **kwargs)]

        def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]:
            return [False] * len(self._indices(indices))

        def _indices(self, indices: Any) -> list[int]:
            if indices is None:
                return list(range(B))
            return [indices] if isinstance(indices, int) else list(indices)

    return FirmVecEnv()


def _args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = firm_parser("sb3_follower", __doc__)
    p.add_argument("--seed", type=int, default=0, help="SB3's seed (default 0)")
    p.add_argument("--train-rounds", type=int, required=True, help="rounds to learn in; then the policy's mean is played")
    p.add_argument("--algo", choices=["sac", "ppo"], default="sac", help="SB3 algorithm (default sac)")
    p.add_argument("--gradient-steps", type=int, default=8, help="SAC: gradient steps per round (default 8)")
    p.add_argument("--n-steps", type=int, default=4, help="PPO: rounds per update (default 4)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default 1e-3)")
    p.add_argument("--last", type=int, default=20, help="rounds at the end the reported quantities are averaged over (default 20)")
    p.add_argument("--json-out", default=None, help="also write the final JSON line to this file")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    """Trains, then plays until the end of the run; returns the exit code."""
    try:
        sb3 = importlib.import_module("stable_baselines3")
        vec_env_mod = importlib.import_module("stable_baselines3.common.vec_env")
    except ImportError as e:
        print(f"sb3_follower: needs Stable-Baselines3 (pip install stable-baselines3): {e}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    tls = tls_context(args.tls_ca, args.tls_cert, args.tls_key) if (args.tls_ca or args.tls_cert) else None
    try:
        env = FirmEnv(args.nats, args.run, args.firm, "follower" if args.tier > 0 else "leader", args.tier,
                      creds=args.creds, tls=tls, timeout=120)
    except StackelbergError as e:
        print(f"sb3_follower: {e}", file=sys.stderr)
        return 1
    venv = make_vec_env(env)
    norm = vec_env_mod.VecNormalize(venv, norm_obs=False, norm_reward=True, gamma=0.0)
    B = int(env.params.batch)
    if args.algo == "sac":
        model = sb3.SAC(
            "MlpPolicy", norm, learning_starts=B, train_freq=1, gradient_steps=args.gradient_steps, batch_size=256,
            learning_rate=args.lr, gamma=0.0, buffer_size=100_000, seed=args.seed, device="cpu", verbose=0,
            policy_kwargs={"net_arch": [64, 64]},
        )
    else:
        model = sb3.PPO(
            "MlpPolicy", norm, n_steps=args.n_steps, batch_size=min(256, args.n_steps * B), n_epochs=5,
            learning_rate=args.lr, gamma=0.0, gae_lambda=1.0, ent_coef=0.0, seed=args.seed, device="cpu", verbose=0,
            policy_kwargs={"net_arch": [32, 32], "log_std_init": -1.0},
        )
    ended = False
    try:
        try:
            model.learn(total_timesteps=args.train_rounds * B)
            # The environment's pending move request is the observation SB3 stopped at.
            obs = model._last_obs
            norm.training = False
            while True:
                action, _ = model.predict(obs, deterministic=True)
                obs, _, _, _ = norm.step(action)
        except RunEnded:
            ended = True
        t_end = time.monotonic()
        played = venv.played
        n = max(1, min(args.last, len(played)))
        q = float(np.mean([p[0] for p in played[-n:]])) if played else float("nan")
        s = float(np.mean([p[1] for p in played[-n:]])) if played else float("nan")
        result = {
            "firm": args.firm, "run": args.run, "algo": args.algo, "seed": args.seed, "rounds": len(played),
            "trained_rounds": min(args.train_rounds, len(played)), "last_rounds": n, "quantity": q,
            "leaders_quantity": s, "wall_seconds": round(t_end - t0, 3), "ended": ended,
        }
        print(f"sb3_follower: end of run: {len(played)} rounds, {result['trained_rounds']} trained; "
              f"last {n} rounds: quantity {q:.4f}, leaders {s:.4f}; {t_end - t0:.1f} s")
        write_result(result, args.json_out)
        return 0
    except StackelbergError as e:
        print(f"sb3_follower: {e}", file=sys.stderr)
        return 1
    finally:
        env.close()


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point."""
    args = _args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
