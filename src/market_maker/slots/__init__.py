"""Grid slots: the state machine, fill accounting, the slot book and client order ids."""
