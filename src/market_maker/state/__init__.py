"""The persisted bot state: its Python model, protobuf conversion and checksummed snapshots."""
