"""What the example agents' command lines share: the connection options, the JSON result line and
the entry point (one line on failure, never a stack trace)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Optional


def firm_parser(module: str, doc: Optional[str]) -> argparse.ArgumentParser:
    """A parser for ``python -m stackelberg.examples.<module>`` with the options every firm needs."""
    p = argparse.ArgumentParser(prog=f"python -m stackelberg.examples.{module}", description=(doc or "").split("\n")[0])
    p.add_argument("--nats", required=True, help="NATS URL, e.g. nats://127.0.0.1:4222")
    p.add_argument("--run", required=True, help="run id")
    p.add_argument("--firm", required=True, help="this firm's id")
    p.add_argument("--tier", type=int, default=1, help="this firm's tier (default 1)")
    p.add_argument("--creds", default=None, help="the firm's nkey seed file (firm-<id>.nk) or .creds file")
    p.add_argument("--tls-ca", default=None)
    p.add_argument("--tls-cert", default=None)
    p.add_argument("--tls-key", default=None)
    return p


def write_result(result: dict[str, Any], json_out: Optional[str]) -> None:
    """Prints the run's result as one JSON line, and writes it to ``json_out`` too when given."""
    line = json.dumps(result)
    print(line)
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            f.write(line + "\n")


def run_main(name: str, verbose: bool, play: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Runs ``play`` to its exit code: 130 on Ctrl-C, 1 with one line for anything unexpected
    (e.g. the server cannot be reached)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(play())
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - one line, no trace
        print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
