"""Golden vectors: proto/testdata/<Message>.<case>.bin + .json (see proto/testdata/README.md).

For every pair: the .bin decodes as <Message> and re-encodes (deterministic) to identical bytes;
MessageToDict of the decoded message equals the parsed .json as JSON values; and the .json parsed
with ParseDict encodes to the same bytes.

Canonical differences that the comparison as JSON values absorbs (none needs special-casing):
Python renders a double 10.0 as the float ``10.0`` where the file has ``10`` (equal as JSON
numbers), and uint64/int64 as decimal strings, as the proto3 JSON mapping and the files do.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from stackelberg.gen.stackelberg.v1 import stackelberg_pb2

TESTDATA = Path(os.environ.get("STACKELBERG_TESTDATA", Path(__file__).resolve().parents[3] / "proto" / "testdata"))
CASES = sorted(TESTDATA.glob("*.bin")) if TESTDATA.is_dir() else []


def message_class(path: Path) -> type[Message]:
    name = path.name.split(".", 1)[0]
    cls = getattr(stackelberg_pb2, name, None)
    assert isinstance(cls, type) and issubclass(cls, Message), f"{path.name}: no message {name} in stackelberg.v1"
    return cls


def test_every_message_has_a_case() -> None:
    assert CASES, f"no golden vectors in {TESTDATA}"
    have = {p.name.split(".", 1)[0] for p in CASES}
    messages = set(stackelberg_pb2.DESCRIPTOR.message_types_by_name)
    assert messages - have == set(), "messages without a golden case"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    cls = message_class(path)
    data = path.read_bytes()
    msg = cls.FromString(data)
    assert msg.SerializeToString(deterministic=True) == data, "re-encoding differs"
    json_path = path.with_suffix(".json")
    expected = json.loads(json_path.read_text(encoding="utf-8"))
    got = json_format.MessageToDict(msg)
    assert got == expected, "JSON form differs"
    parsed = json_format.ParseDict(expected, cls())
    assert parsed.SerializeToString(deterministic=True) == data, "the .json encodes to other bytes"
