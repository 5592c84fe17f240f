"""Regenerate the protobuf Python code (``*_pb2.py`` and ``*_pb2.pyi``) from ``proto/``.

Usage::

    python scripts/gen_proto.py             # rewrite src/market_maker/pb/*_pb2.py[i]
    python scripts/gen_proto.py --out DIR   # write the same tree under DIR (staleness check)

Runs the pinned ``grpcio-tools`` protoc with ``-Iproto`` on every ``.proto`` under
``proto/`` (sorted), so the output is reproducible byte for byte. When writing into
``src/``, generated files whose ``.proto`` no longer exists are removed first.
"""

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
DEFAULT_OUT = ROOT / "src"
GENERATED_PACKAGE = Path("market_maker") / "pb"
GENERATED_PATTERNS = ("*_pb2.py", "*_pb2.pyi")


def proto_files(proto_dir: Path = PROTO_DIR) -> list[str]:
    """Every ``.proto`` under ``proto_dir``, relative to it, sorted, with ``/`` separators."""
    return sorted(p.relative_to(proto_dir).as_posix() for p in proto_dir.rglob("*.proto"))


def generated_files(out: Path) -> list[Path]:
    """The generated files currently under ``out`` (relative to it), sorted."""
    package = out / GENERATED_PACKAGE
    found = [p for pattern in GENERATED_PATTERNS for p in package.rglob(pattern)]
    return sorted(p.relative_to(out) for p in found)


def generate(out: Path, proto_dir: Path = PROTO_DIR) -> None:
    """Run protoc on every ``.proto`` under ``proto_dir``, writing Python code into ``out``."""
    files = proto_files(proto_dir)
    if not files:
        raise SystemExit(f"no .proto files under {proto_dir}")
    out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"-I{proto_dir}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        *files,
    ]
    result = subprocess.run(command, cwd=proto_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"protoc failed ({result.returncode}):\n{result.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write the generated tree under this directory instead of src/",
    )
    args = parser.parse_args(argv)
    out: Path = (args.out or DEFAULT_OUT).resolve()
    if out == DEFAULT_OUT:
        for stale in generated_files(out):
            (out / stale).unlink()
    generate(out)
    for path in generated_files(out):
        print(path.as_posix())
    return 0


if __name__ == "__main__":
    sys.exit(main())
