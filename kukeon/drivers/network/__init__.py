"""Network driver: pinned netns per cell, CNI bridge network per space, iptables isolation."""

from kukeon.drivers.network.driver import CniNetwork

__all__ = ["CniNetwork"]
