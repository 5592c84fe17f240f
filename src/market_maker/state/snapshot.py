"""Checksummed state snapshots: the bytes a store persists, and their verification on load.

A snapshot is the ``State`` message in protobuf's deterministic serialization, carrying in
its ``checksum`` field the hex SHA-256 of the same message serialized with ``checksum``
empty. ``load`` accepts only bytes that are exactly what ``serialize`` would write for the
state they decode to: the checksum must match and the encoding must be canonical (protobuf
decoders accept non-canonical encodings, e.g. a bool written as 2, which would otherwise
slip past a checksum computed on the decoded message). Any failure raises
``StateIntegrityError``; it never degrades to "no state", because starting fresh next to
live orders would orphan them.
"""

import hashlib

from google.protobuf.message import DecodeError

from market_maker.domain.errors import StateIntegrityError
from market_maker.pb import state_pb2
from market_maker.state.convert import state_from_pb, state_to_pb
from market_maker.state.model import GridState

_REFUSE = (
    "refusing to start from a tampered or corrupted state; "
    "see docs/operations_guide.md#crash-recovery"
)


def compute_checksum(msg: state_pb2.State) -> str:
    """Return the hex SHA-256 of ``msg``'s deterministic serialization with ``checksum`` empty.

    ``msg`` itself is not modified.
    """
    unsealed = state_pb2.State()
    unsealed.CopyFrom(msg)
    unsealed.ClearField("checksum")
    return hashlib.sha256(unsealed.SerializeToString(deterministic=True)).hexdigest()


def seal(state: GridState) -> state_pb2.State:
    """Convert ``state`` to a ``State`` message and set its checksum."""
    msg = state_to_pb(state)  # checksum empty: hash it as it is
    msg.checksum = hashlib.sha256(msg.SerializeToString(deterministic=True)).hexdigest()
    return msg


def serialize(state: GridState) -> bytes:
    """Return the snapshot bytes of ``state``: its sealed message, serialized deterministically."""
    data: bytes = seal(state).SerializeToString(deterministic=True)
    return data


def verify(msg: state_pb2.State) -> None:
    """Raise ``StateIntegrityError`` unless ``msg`` carries the checksum of its content."""
    if not msg.checksum:
        raise StateIntegrityError(f"state snapshot has no checksum; {_REFUSE}")
    expected = compute_checksum(msg)
    if msg.checksum != expected:
        raise StateIntegrityError(
            f"state snapshot checksum mismatch: expected {expected} (computed from the "
            f"content), found {msg.checksum!r}; {_REFUSE}"
        )


def load(data: bytes) -> GridState:
    """Decode and verify snapshot bytes written by ``serialize``, and rebuild the state.

    Raises ``StateIntegrityError`` when the bytes do not decode, the checksum is missing or
    does not match, the encoding is not the canonical one, or the content is inconsistent.
    """
    msg = state_pb2.State()
    try:
        msg.ParseFromString(data)
    except DecodeError as exc:
        raise StateIntegrityError(
            f"state snapshot of {len(data)} bytes does not decode as a State message "
            f"({exc}); {_REFUSE}"
        ) from exc
    verify(msg)
    if msg.SerializeToString(deterministic=True) != data:
        raise StateIntegrityError(
            "state snapshot bytes differ from the canonical encoding of their own content "
            f"(its checksum matches, so the bytes were altered after sealing); {_REFUSE}"
        )
    try:
        return state_from_pb(msg)
    except (StateIntegrityError, ArithmeticError, ValueError) as exc:
        raise StateIntegrityError(
            f"state snapshot has a valid checksum but inconsistent content: {exc}; {_REFUSE}"
        ) from exc
