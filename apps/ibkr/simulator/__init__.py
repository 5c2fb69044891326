"""A TWS API protocol simulator that the real ib_async client connects to over loopback.

Server version 157 (the lowest ib_async 2.1 accepts). See ``session`` for the message ids.
"""

from apps.ibkr.simulator.server import TwsSimulator, running_simulator

__all__ = ["TwsSimulator", "running_simulator"]
