"""A learning follower in numpy: a Gaussian policy trained by a natural policy gradient.

The firm does not know the market's model. Its policy is ``q ~ N(mu(x), sigma^2)`` per market
instance, clipped into ``[0, quantity_max]``, with a linear mean ``mu(x) = theta . phi(x)`` of its
observation row ``x`` (``stackelberg.envs.observation``: the run's observation columns, the
firm's own last quantity and marginal cost in the runs that carry them, then the total quantity the
leaders committed in that instance), ``phi(x) = [1, x / quantity_max]``. So it
learns a reaction function to the leaders' quantity, not one point of it. Each round gives B
samples (one per instance): the action played and the firm's own profit from the Outcome.

Learning rule (natural actor-critic, Peters & Schaal 2008, one-step "episodes" as the objective is
this round's profit): per step (every round when B >= ``--min-batch``, else every few rounds), a
least-squares critic fits

    r_i ~ c . psi(x_i) + w . (eps_i phi(x_i)) + d (eps_i^2 - sigma_i^2)

over the samples that were not clipped, with ``eps_i = a_i - mu(x_i)`` the exploration
noise, ``psi(x) = [1, x, x^2]`` a state-value baseline and ``eps^2 - sigma^2`` a control variate
(it has mean zero and no correlation with ``eps``, so the gradient stays unbiased). ``w`` on the
compatible features ``eps phi`` is the natural gradient of the expected profit divided by sigma^2;
the policy steps ``theta += lr * w``. Exploration ``sigma`` anneals geometrically over the rounds
the firm trains. Nothing here computes a best response: the critic's weights are estimated from
the profits the market paid.

Training phases (``RunControl PHASE_CHANGE``, the alternating schedule): the firm samples and
learns only in phases whose ``training_firm_ids`` name it; in the others it plays its mean
(frozen, greedy), and uniformly over ``[0, quantity_max]`` when ``exploring_firm_ids`` name it,
as the TypeScript learners do::

    python -m stackelberg.examples.learning_follower --nats nats://127.0.0.1:4222 --run p1 \\
        --firm follower --creds auth/firm-follower.nk [--seed 1]

At the end it prints one line (``learning_follower: ...``) with its quantity and the leaders' over
the last rounds, the learned reaction ``mu(S) = theta0 + theta1 S`` and its wall time, and one JSON
line with the same figures (``--json-out FILE`` writes it to a file too). Exits 0 at the end of the
run, 1 when the run failed or the market refused the firm. Needs the ``envs`` extra (numpy).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import numpy.typing as npt

from .. import pb
from ..client import Event, FirmClient, StackelbergError, tls_context
from ..envs import obs_columns, observation
from ._cli import firm_parser, run_main, write_result

Array = npt.NDArray[np.float64]

log = logging.getLogger("stackelberg.examples.learning_follower")

__all__ = ["GaussianLearner", "LearnerConfig", "main", "run"]


@dataclass(frozen=True)
class LearnerConfig:
    """Hyper-parameters of :class:`GaussianLearner` (quantities as shares of quantity_max)."""

    #: Step on the critic's compatible weights: theta += lr * w (contraction 1 - 2 b lr per step
    #: for linear demand of slope b: stable while lr < 1/b).
    lr: float = 0.2
    #: Initial and final exploration standard deviation, as shares of quantity_max.
    sigma0: float = 0.1
    sigma_min: float = 0.01
    #: Trained rounds over which sigma halves.
    sigma_halflife: float = 15.0
    #: Initial mean quantity (share of quantity_max), the same whatever the observation.
    init_mean: float = 0.5
    #: Ridge term of the critic's least squares (relative to the design's scale).
    ridge: float = 1e-8
    #: Usable samples a step needs: with B below it, several rounds make one step.
    min_batch: int = 64

    def __post_init__(self) -> None:
        for name in ("lr", "sigma0", "sigma_min", "sigma_halflife"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.sigma_min > self.sigma0:
            raise ValueError("sigma_min must be <= sigma0")
        if not 0 <= self.init_mean <= 1:
            raise ValueError("init_mean must lie in [0, 1]")
        if self.min_batch < 1:
            raise ValueError("min_batch must be >= 1")


class GaussianLearner:
    """The policy and its learning rule, free of any I/O (see the module's docstring).

    :param columns: width k of an observation row.
    :param quantity_max: upper end of the action range.
    """

    def __init__(self, columns: int, quantity_max: float, config: LearnerConfig = LearnerConfig(), *, seed: Optional[int] = None) -> None:
        if columns < 1:
            raise ValueError("columns must be >= 1")
        if not quantity_max > 0:
            raise ValueError("quantity_max must be > 0")
        self.cfg = config
        self.k = columns
        self.qmax = float(quantity_max)
        self.rng = np.random.default_rng(seed)
        #: Mean weights on phi(x) = [1, x / quantity_max].
        self.theta: Array = np.zeros(columns + 1)
        self.theta[0] = config.init_mean * self.qmax
        #: Rounds learned from (drives the exploration schedule), and policy steps taken.
        self.trained_rounds = 0
        self.updates = 0
        #: The last step's critic weights w (the step was lr * w).
        self.last_w: Array = np.zeros(columns + 1)
        self._buffer: list[tuple[Array, Array, Array, Array]] = []
        self._rows = 0

    @property
    def sigma(self) -> float:
        """Exploration standard deviation now (absolute)."""
        c = self.cfg
        share = max(c.sigma_min, c.sigma0 * 0.5 ** (self.trained_rounds / c.sigma_halflife))
        return float(share * self.qmax)

    def phi(self, obs: Array) -> Array:
        """Features of the mean, (B, k + 1): a constant, then the observation over quantity_max."""
        x = np.asarray(obs, dtype=np.float64).reshape(-1, self.k) / self.qmax
        return np.hstack([np.ones((x.shape[0], 1)), x])

    def mean(self, obs: Array) -> Array:
        """The policy's mean quantity per row (unclipped)."""
        return self.phi(obs) @ self.theta

    def greedy(self, obs: Array) -> Array:
        """The frozen policy: its mean, clipped into [0, quantity_max]."""
        return np.clip(self.mean(obs), 0.0, self.qmax)

    def sample(self, obs: Array) -> tuple[Array, Array]:
        """Exploring actions: ``(quantities to submit, unclipped samples)``."""
        a = self.mean(obs) + self.sigma * self.rng.standard_normal(np.shape(obs)[0])
        return np.clip(a, 0.0, self.qmax), a

    def uniform(self, n: int) -> Array:
        """Uniform quantities over [0, quantity_max] (exploring phases)."""
        return self.rng.uniform(0.0, self.qmax, n)

    def update(self, obs: Array, samples: Array, profits: Array) -> bool:
        """Learns from a round: the observations, the unclipped samples that :meth:`sample` returned
        for them, and the profits the firm made. The usable samples are gathered until there are
        ``min_batch`` of them (one round when B is large), then the policy takes one natural-gradient
        step. Returns True when it stepped."""
        phi = self.phi(obs)
        a = np.asarray(samples, dtype=np.float64)
        r = np.asarray(profits, dtype=np.float64)
        # A clipped sample's profit does not move with its noise: it says nothing about the slope.
        ok = (a >= 0.0) & (a <= self.qmax) & np.isfinite(r)
        n = int(ok.sum())
        if n == 0:
            return False
        # theta is the same for every round in the buffer (it changes only when the buffer is used).
        eps = (a - phi @ self.theta)[ok]
        self._buffer.append((phi[ok], eps, np.full(n, self.sigma**2), r[ok]))
        self._rows += n
        self.trained_rounds += 1
        if self._rows < max(self.cfg.min_batch, 2 * (3 * self.k + 3)):
            return False
        ph = np.vstack([b[0] for b in self._buffer])
        eps = np.concatenate([b[1] for b in self._buffer])
        var = np.concatenate([b[2] for b in self._buffer])
        r = np.concatenate([b[3] for b in self._buffer])
        self._buffer, self._rows = [], 0
        x = ph[:, 1:]
        z = np.hstack([
            np.ones((len(r), 1)), x, x * x,  # baseline psi(x)
            eps[:, None] * ph,               # compatible features: the natural gradient
            (eps * eps - var)[:, None],      # control variate
        ])
        # Scale columns to unit norm so that one ridge term suits every column.
        scale = np.sqrt((z * z).sum(axis=0)) + 1e-300
        zs = z / scale
        coef = np.linalg.solve(zs.T @ zs + self.cfg.ridge * np.eye(zs.shape[1]), zs.T @ r) / scale
        w = coef[1 + 2 * self.k : 2 + 3 * self.k]
        self.theta = self.theta + self.cfg.lr * w
        self.last_w = w
        self.updates += 1
        return True


# -- the firm on the bus -----------------------------------------------------------------------


@dataclass
class _Phase:
    name: str = ""
    training: bool = False
    exploring: bool = False


@dataclass
class _Played:
    """What the firm did in one round, kept until the round's Outcome."""

    obs: Array
    samples: Optional[Array]  # the unclipped samples when the round is learned from


@dataclass
class Report:
    """Figures of a finished run, from the firm's own outcome events."""

    rounds: int = 0
    trained_rounds: int = 0
    absent: int = 0
    rejects: int = 0
    #: Per-round means over the instances: own quantity and the leaders' committed total.
    quantity: list[float] = field(default_factory=list)
    committed: list[float] = field(default_factory=list)


def _args(argv: Optional[list[str]]) -> argparse.Namespace:
    d = LearnerConfig()
    p = firm_parser("learning_follower", __doc__)
    p.add_argument("--seed", type=int, default=None, help="seed of the firm's exploration (default: from the run seed)")
    p.add_argument("--lr", type=float, default=d.lr, help=f"step on the critic's compatible weights (default {d.lr})")
    p.add_argument("--sigma0", type=float, default=d.sigma0, help=f"initial exploration std, share of quantity_max (default {d.sigma0})")
    p.add_argument("--sigma-min", type=float, default=d.sigma_min, help=f"final exploration std, share of quantity_max (default {d.sigma_min})")
    p.add_argument("--sigma-halflife", type=float, default=d.sigma_halflife, help=f"trained rounds over which the std halves (default {d.sigma_halflife:g})")
    p.add_argument("--min-batch", type=int, default=d.min_batch, help=f"usable samples per policy step (default {d.min_batch})")
    p.add_argument("--last", type=int, default=20, help="rounds at the end the reported quantities are averaged over (default 20)")
    p.add_argument("--json-out", default=None, help="also write the final JSON line to this file")
    p.add_argument("--register-timeout", type=float, default=60.0, help="seconds (default 60)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def _seed(args: argparse.Namespace, params: pb.RunParams) -> int:
    if args.seed is not None:
        return int(args.seed)
    # Like every stream of the run: the run seed and a fixed name.
    return int(np.random.SeedSequence([int(params.seed), *f"explore:{args.firm}".encode()]).generate_state(1)[0])


async def _events_with_timeout(it: AsyncIterator[Event], timeout: Optional[float]) -> Event:
    if timeout is None:
        return await it.__anext__()
    return await asyncio.wait_for(it.__anext__(), timeout)


async def run(args: argparse.Namespace) -> int:
    """Plays and learns until the end of the run; returns the exit code."""
    t0 = time.monotonic()
    tls = tls_context(args.tls_ca, args.tls_cert, args.tls_key) if (args.tls_ca or args.tls_cert) else None
    firm = FirmClient(
        args.nats, args.run, args.firm, "follower" if args.tier > 0 else "leader", args.tier,
        creds=args.creds, tls=tls, capabilities=["policy:natural-gradient-py"],
        register_timeout=args.register_timeout,
    )
    try:
        await firm.connect()
        params = await firm.register(preparing=True)
        cfg = LearnerConfig(
            lr=args.lr, sigma0=args.sigma0, sigma_min=args.sigma_min, sigma_halflife=args.sigma_halflife, min_batch=args.min_batch
        )
        seed = _seed(args, params)
        learner = GaussianLearner(len(obs_columns(params)), params.quantity_max, cfg, seed=seed)
        B = int(params.batch)
        # The phase in force; a run without announcements trains all along (simultaneous).
        phase = _Phase(name="", training=True)
        played: dict[int, _Played] = {}
        held: Optional[pb.MoveRequest] = None
        held_since = 0.0
        rep = Report()
        t_play = time.monotonic()
        await firm.register(preparing=False)

        async def answer(m: pb.MoveRequest) -> None:
            obs = observation(params, m, args.firm)
            if phase.exploring:
                q, samples = learner.uniform(B), None
            elif phase.training:
                q, samples = learner.sample(obs)
            else:
                q, samples = learner.greedy(obs), None
            await firm.submit(int(m.round), [float(v) for v in q])
            played[int(m.round)] = _Played(obs, samples)

        it = firm.events().__aiter__()
        while True:
            # A move request announcing a phase not heard of yet waits (a little) for its PHASE_CHANGE:
            # the two come on different subjects, so their order of delivery is not guaranteed.
            timeout = None
            if held is not None:
                timeout = max(0.0, held_since + min(0.5, params.deadline_ms / 4000) - time.monotonic())
            try:
                ev = await _events_with_timeout(it, timeout)
            except StopAsyncIteration:
                break
            except asyncio.TimeoutError:
                # No announcement (e.g. the firm joined after it): carry on in the phase it knows,
                # under the new name, so the next moves of this phase are not held too.
                assert held is not None
                m, held = held, None
                log.warning("%s: no PHASE_CHANGE for phase %r; keeping training=%s", args.firm, m.phase, phase.training)
                phase = _Phase(m.phase, phase.training, phase.exploring)
                await answer(m)
                continue
            if isinstance(ev, pb.RunControl):
                if ev.kind == pb.ControlKind.Value("PHASE_CHANGE"):
                    phase = _Phase(ev.phase, args.firm in ev.training_firm_ids, args.firm in ev.exploring_firm_ids)
                    if held is not None and held.phase == phase.name:
                        m, held = held, None
                        await answer(m)
            elif isinstance(ev, pb.MoveRequest):
                if ev.phase and ev.phase != phase.name:
                    held, held_since = ev, time.monotonic()
                else:
                    await answer(ev)
            elif isinstance(ev, pb.Outcome):
                mine = played.pop(int(ev.round), None)
                for r in [r for r in played if r < int(ev.round)]:
                    del played[r]  # rounds cleared without an outcome reaching us
                if args.firm not in ev.firm_ids:
                    continue
                j = list(ev.firm_ids).index(args.firm)
                quantities = np.asarray(ev.quantities[j * B : (j + 1) * B], dtype=np.float64)
                profits = np.asarray(ev.profits[j * B : (j + 1) * B], dtype=np.float64)
                absent = bool(ev.absent[j]) if j < len(ev.absent) else False
                rep.rounds += 1
                rep.absent += absent
                rep.quantity.append(float(quantities.mean()))
                rep.committed.append(float(mine.obs[:, -1].mean()) if mine is not None else float("nan"))
                if mine is not None and mine.samples is not None and not absent:
                    learner.update(mine.obs, mine.samples, profits)
            elif isinstance(ev, pb.Reject):
                rep.rejects += 1
        t_end = time.monotonic()
        rep.trained_rounds = learner.trained_rounds
        n = max(1, min(args.last, len(rep.quantity)))
        q_last = float(np.mean(rep.quantity[-n:])) if rep.quantity else float("nan")
        s_last = float(np.nanmean(rep.committed[-n:])) if rep.committed else float("nan")
        th = learner.theta
        result = {
            "firm": args.firm,
            "run": args.run,
            "seed": seed,
            "rounds": rep.rounds,
            "trained_rounds": rep.trained_rounds,
            "updates": learner.updates,
            "absent": rep.absent,
            "rejects": rep.rejects,
            "last_rounds": n,
            "quantity": q_last,
            "leaders_quantity": s_last,
            # mu(S) = theta0 + theta_S * S for the committed-total column (the last one).
            "reaction": {"intercept": float(th[0]), "slope": float(th[-1] / params.quantity_max)},
            "play_seconds": round(t_end - t_play, 3),
            "wall_seconds": round(t_end - t0, 3),
            "end": firm.end_reason or "",
        }
        print(
            f"learning_follower: end of run ({firm.end_reason or 'no reason'}): {rep.rounds} rounds, "
            f"{rep.trained_rounds} trained, {rep.absent} absent, {rep.rejects} rejects; last {n} rounds: "
            f"quantity {q_last:.4f}, leaders {s_last:.4f}; reaction q = {th[0]:.3f} {th[-1] / params.quantity_max:+.4f} S; "
            f"{t_end - t0:.1f} s"
        )
        write_result(result, args.json_out)
        return 0
    except StackelbergError as e:
        print(f"learning_follower: {e}", file=sys.stderr)
        return 1
    finally:
        await firm.close()


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point."""
    args = _args(argv)
    return run_main("learning_follower", args.verbose, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
