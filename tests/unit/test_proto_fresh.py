"""The checked-in generated protobuf code matches what protoc makes from proto/ today."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "src"
PACKAGE = Path("market_maker") / "pb"
HINT = "the generated protobuf code is stale: run `make proto` and commit the result"


def generated(out: Path) -> dict[str, bytes]:
    files = [*(out / PACKAGE).glob("*_pb2.py"), *(out / PACKAGE).glob("*_pb2.pyi")]
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in files}


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_proto.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"scripts/gen_proto.py failed:\n{result.stderr}"
    fresh, checked_in = generated(tmp_path), generated(CHECKED_IN)
    assert fresh, "protoc generated nothing"
    missing, extra = (
        sorted(fresh.keys() - checked_in.keys()),
        sorted(checked_in.keys() - fresh.keys()),
    )
    assert not missing, f"{HINT}; not checked in: {missing}"
    assert not extra, f"{HINT}; checked in without a .proto: {extra}"
    stale = sorted(name for name in fresh if fresh[name] != checked_in[name])
    assert not stale, f"{HINT}; differs: {stale}"


def test_every_proto_has_its_module() -> None:
    protos = sorted(
        p.relative_to(ROOT / "proto").with_suffix("") for p in (ROOT / "proto").rglob("*.proto")
    )
    modules = sorted(
        p.relative_to(CHECKED_IN).with_name(p.name.removesuffix("_pb2.py"))
        for p in (CHECKED_IN / PACKAGE).glob("*_pb2.py")
    )
    assert protos == modules, HINT


def test_generated_files_are_marked_generated() -> None:
    for name, content in generated(CHECKED_IN).items():
        if name.endswith(".py"):
            assert b"DO NOT EDIT" in content.splitlines()[1], f"{name} lacks the protoc header"
