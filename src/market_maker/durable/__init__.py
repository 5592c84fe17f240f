"""The Durable engine: decision cycles and order updates as DBOS workflows (production).

DBOS stays inside this package (it is a process-wide singleton); the rest of the code sees
only the ``Engine`` interface.
"""
