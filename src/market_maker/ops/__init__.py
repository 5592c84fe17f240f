"""Operating a running bot: the control channel, operator commands, heartbeat and health."""
