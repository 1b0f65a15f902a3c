"""Drivers: the only code that touches the host."""
