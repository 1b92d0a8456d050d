"""A best-response follower: ``q = clip((a - c - b S) / (2 b), 0, quantity_max)`` per instance.

For linear demand ``P = a - b Q`` and the firm's own linear cost ``c`` (from RunParams.firms), with
``S`` the sum of the quantities committed by earlier tiers. Other demand or cost kinds are refused
with a one-line error (exit 2)::

    python -m stackelberg.examples.br_follower --nats nats://127.0.0.1:4222 --run p1 \\
        --firm follower --creds auth/firm-follower.nk

Exits 0 at the end of the run, 1 when the run failed or the market refused the firm.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from .. import pb
from ..best_response import UnsupportedModel, linear_model, respond
from ..client import FirmClient, StackelbergError, tls_context
from ._cli import firm_parser, run_main


def _args(argv: Optional[list[str]]) -> argparse.Namespace:
    p = firm_parser("br_follower", __doc__)
    p.add_argument("--register-timeout", type=float, default=60.0, help="seconds (default 60)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    """Plays the run; returns the exit code."""
    tls = tls_context(args.tls_ca, args.tls_cert, args.tls_key) if (args.tls_ca or args.tls_cert) else None
    firm = FirmClient(
        args.nats, args.run, args.firm, "follower", args.tier,
        creds=args.creds, tls=tls, capabilities=["policy:best-response-py"],
        register_timeout=args.register_timeout,
    )
    try:
        await firm.connect()
        params = await firm.register(preparing=True)
        model = linear_model(params, args.firm)
        same_tier = [f.firm_id for f in params.firms if f.tier == firm.tier]
        if len(same_tier) > 1:
            print(f"br_follower: warning: tier {firm.tier} has {len(same_tier)} firms; playing the single-follower best response", file=sys.stderr)
        await firm.register(preparing=False)
        # What the outcomes say this firm played (the market's record), to report at the end.
        played: list[float] = []
        prices: list[float] = []
        absent = 0

        def policy(move: pb.MoveRequest) -> list[float]:
            return respond(model, move)

        def on_outcome(o: pb.Outcome) -> None:
            nonlocal absent
            if args.firm not in o.firm_ids:
                return
            f = list(o.firm_ids).index(args.firm)
            B = o.batch
            played.extend(o.quantities[f * B:(f + 1) * B])
            prices.extend(o.prices)
            absent += bool(o.absent[f]) if f < len(o.absent) else 0

        reason = await firm.play(policy, on_outcome)
        n = len(played)
        summary = (f"quantity mean {sum(played) / n:g} (min {min(played):g}, max {max(played):g}), "
                   f"price mean {sum(prices) / len(prices):g}") if n else "no outcomes"
        print(f"br_follower: end of run ({reason or 'no reason'}): {firm.stats['submitted']} submissions, "
              f"{firm.stats['outcomes']} outcomes, {absent} absent, {firm.stats['rejects']} rejects; outcomes: {summary}")
        return 0
    except UnsupportedModel as e:
        print(f"br_follower: {e}", file=sys.stderr)
        return 2
    except StackelbergError as e:
        print(f"br_follower: {e}", file=sys.stderr)
        return 1
    finally:
        await firm.close()


def main(argv: Optional[list[str]] = None) -> int:
    """Command-line entry point."""
    args = _args(argv)
    return run_main("br_follower", args.verbose, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
