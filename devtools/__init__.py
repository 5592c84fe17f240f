"""Development tooling, never imported by the runtime package and not installed with it.

The generators of the reference tables under docs/ and the scratch database helper of the
durable tests and benchmarks.
"""
