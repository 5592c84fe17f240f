"""Operating a running bot: its logs (``ops.logs``) and its alerts (``ops.alerts``)."""
