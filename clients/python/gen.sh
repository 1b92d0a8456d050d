#!/usr/bin/env bash
# Regenerates the committed Python protobuf code from proto/stackelberg/v1/stackelberg.proto.
#
# Generator: grpcio-tools 1.85.1 (bundled protoc: libprotoc 35.1, i.e. protobuf Python gencode
# 7.35.1), run in a throwaway venv with protobuf 7.35.1 -- the same protobuf version the package
# pins at run time, so the generated module's runtime version check always passes.
#
# Usage: clients/python/gen.sh   (from anywhere; needs python3 with venv and pip, and PyPI)
set -euo pipefail
GRPCIO_TOOLS_VERSION=1.85.1
PROTOBUF_VERSION=7.35.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$here/src/stackelberg/gen"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check \
  "grpcio-tools==$GRPCIO_TOOLS_VERSION" "protobuf==$PROTOBUF_VERSION"
"$tmp/venv/bin/python" -m grpc_tools.protoc --version

# -I proto: the descriptor is registered as "stackelberg/v1/stackelberg.proto" (its canonical
# name); the module lands in src/stackelberg/gen/stackelberg/v1/.
mkdir -p "$tmp/out"
"$tmp/venv/bin/python" -m grpc_tools.protoc -I "$repo/proto" \
  --python_out="$tmp/out" --pyi_out="$tmp/out" \
  "$repo/proto/stackelberg/v1/stackelberg.proto"

dest="$out/stackelberg/v1"
mkdir -p "$dest"
# The generated module names itself after the proto path ('stackelberg.v1.stackelberg_pb2');
# installed, it lives at stackelberg.gen.stackelberg.v1.stackelberg_pb2, so the message classes'
# __module__ is set to that (pickling and repr find them). The .proto has no imports, so no
# import statement needs rewriting.
sed "s/'stackelberg\.v1\.stackelberg_pb2'/'stackelberg.gen.stackelberg.v1.stackelberg_pb2'/" \
  "$tmp/out/stackelberg/v1/stackelberg_pb2.py" > "$dest/stackelberg_pb2.py"
cp "$tmp/out/stackelberg/v1/stackelberg_pb2.pyi" "$dest/stackelberg_pb2.pyi"
for d in "$out" "$out/stackelberg" "$dest"; do
  [ -f "$d/__init__.py" ] || echo '"""Generated protobuf code (see clients/python/gen.sh)."""' > "$d/__init__.py"
done
echo "generated $dest/stackelberg_pb2.py and .pyi"
