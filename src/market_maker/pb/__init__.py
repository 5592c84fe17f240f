"""Generated protobuf code (``*_pb2.py`` and ``*_pb2.pyi``) for the messages in ``proto/``.

Do not edit these files: change the ``.proto`` files and run ``make proto``
(``python scripts/gen_proto.py``). A test fails when they are stale.
"""
