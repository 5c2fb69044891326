"""A TWS API protocol simulator that the real ib_async client connects to over loopback.

The broker's side for tests and manual trials: server version 157 (the lowest ib_async 2.1
accepts), one paper account ``DU123456``, two instruments (GOOG STK, EUR.USD CASH; see
``instruments``). It shares nothing with Sibyl's database.

Covered:
- handshake, startApi (error 326 and socket close for a clientId already connected),
  currentTime, reqIds (nextValidId never goes backwards), account updates (constants);
- contract details, matching symbols, historical bars from the shipped CSV files
  (``history``; errors 162/200/321);
- orders (``orders``: MKT, LMT, STP, STP LMT; transmit=0 held groups, brackets with
  PreSubmitted children, OCA cancels, cancel with children, price/quantity modifications,
  201 rejections, IBKR-style commissions, positions, realized P&L) with openOrder,
  orderStatus, execDetails, commissionReport and position messages (``order_messages``);
  reqOpenOrders / reqAllOpenOrders / reqAutoOpenOrders, reqExecutions (with filters),
  reqPositions; state survives reconnects;
- fault injection (``faults``, ``SimulatorHandle``): lost / delayed messages, a connection
  dropped right after a placeOrder, disconnect of all clients, split fills, rejections,
  historical-data pacing violations.

Not covered: streaming market data (reqMktData, ticks, real-time bars), completed orders
(reqCompletedOrders answers only its end message), order modifications beyond quantity,
prices and orderRef, other order types (TRAIL, MOC, algos, …), time in force / expiry,
combos, FA / multiple accounts, account values that follow fills, P&L subscriptions,
connectivity messages (1100/1101/1102), server versions other than 157.
"""

from devtools.tws_simulator.handle import ExecutionSnapshot, OrderSnapshot, SimulatorHandle
from devtools.tws_simulator.server import TwsSimulator, running_simulator

__all__ = [
    "ExecutionSnapshot",
    "OrderSnapshot",
    "SimulatorHandle",
    "TwsSimulator",
    "running_simulator",
]
