"""Operating a running bot: control channel, published view, logs and alerts.

The control channel and operator commands (``ops.commands``, ``ops.operator``), what a
running bot publishes (``ops.heartbeat``, ``ops.publish``), its logs (``ops.logs``) and its
alerts (``ops.alerts``).
"""
