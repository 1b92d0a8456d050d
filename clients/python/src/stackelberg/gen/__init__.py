"""Generated protobuf code (see clients/python/gen.sh)."""
