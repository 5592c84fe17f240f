"""Plain domain types shared by every layer: decimals, enums, instruments, orders, market data.

Nothing in this package performs I/O, reads a clock or touches a global.
"""
