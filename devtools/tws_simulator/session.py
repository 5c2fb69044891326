"""One client connection: the handshake, then request dispatch.

Client -> server requests handled (layouts per ib_async ``client.py``): 3 placeOrder,
4 cancelOrder, 5 reqOpenOrders, 6 reqAccountUpdates, 7 reqExecutions, 8 reqIds,
9 reqContractDetails, 15 reqAutoOpenOrders, 16 reqAllOpenOrders, 20 reqHistoricalData,
49 reqCurrentTime, 61 reqPositions, 64 cancelPositions, 71 startApi, 76 reqAccountUpdatesMulti,
81 reqMatchingSymbols, 99 reqCompletedOrders. Others are logged and ignored.

Server -> client messages (server version 157 layouts): 3 orderStatus, 4 error, 5 openOrder,
6 account value, 8 account time, 9 nextValidId, 10 contractDetails, 11 execDetails,
15 managedAccounts, 17 historicalData, 49 currentTime, 52 contractDetailsEnd, 53 openOrderEnd,
54 accountDownloadEnd, 55 execDetailsEnd, 59 commissionReport, 61 position, 62 positionEnd,
74 accountUpdateMultiEnd, 79 symbolSamples, 102 completedOrdersEnd.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from devtools.tws_simulator import history
from devtools.tws_simulator.instruments import (
    ContractRef,
    contract_details_fields,
    match_symbols,
    symbol_samples_fields,
)
from devtools.tws_simulator.order_messages import (
    commission_report_fields,
    error_fields,
    exec_details_fields,
    open_order_fields,
    order_status_fields,
    parse_place_order,
    position_fields,
)
from devtools.tws_simulator.orders import ACCOUNT, SimExecution, SimOrder
from devtools.tws_simulator.protocol import (
    Field,
    ProtocolError,
    decode_body,
    encode_message,
    negotiate,
    read_frame,
    read_handshake,
)

if TYPE_CHECKING:
    from devtools.tws_simulator.server import TwsSimulator

logger = logging.getLogger(__name__)

NO_SECURITY = history.NO_SECURITY
CLIENT_ID_IN_USE = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)
Handler = Callable[[list[str]], Awaitable[None]]


class Session:
    """Serves one ib_async client over ``reader``/``writer`` for ``simulator`` (which owns the
    order book, the faults and the routing of order messages to connections)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        simulator: "TwsSimulator",
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.simulator = simulator
        self.client_id: int | None = None
        self.closed = False
        self.positions_subscribed = False
        self.handlers: dict[int, Handler] = {
            3: self.on_place_order,
            4: self.on_cancel_order,
            5: self.on_req_open_orders,
            6: self.on_req_account_updates,
            7: self.on_req_executions,
            8: self.on_req_ids,
            9: self.on_req_contract_details,
            15: self.on_req_auto_open_orders,
            16: self.on_req_all_open_orders,
            20: self.on_req_historical_data,
            49: self.on_req_current_time,
            61: self.on_req_positions,
            64: self.on_cancel_positions,
            71: self.on_start_api,
            76: self.on_req_account_updates_multi,
            81: self.on_req_matching_symbols,
            99: self.on_req_completed_orders,
        }

    # --- output ---------------------------------------------------------------------------

    def send(self, fields: list[Field]) -> None:
        """Frame and queue one message, unless the session is closed or a ``lose_next`` /
        ``delay_next`` fault for its message id fires (a delayed message is written later)."""
        if self.closed:
            return
        msg_id = int(str(fields[0]))
        faults = self.simulator.faults
        if faults.take_lose(msg_id):
            logger.info("TWS simulator: losing message %s", fields[:3])
            return
        frame = encode_message(fields)
        delay = faults.take_delay(msg_id)
        if delay is not None:
            asyncio.get_running_loop().call_later(delay, self._write, frame)
            return
        self._write(frame)

    def _write(self, frame: bytes) -> None:
        if not self.closed and not self.writer.is_closing():
            self.writer.write(frame)

    def send_error(self, req_id: int, code: int, message: str) -> None:
        """error (msg 4, version 2) per ``decoder.errorMsg``: ``reqId, code, message``."""
        self.send(error_fields(req_id, code, message))

    def send_order(self, order: SimOrder) -> None:
        """openOrder (5) + orderStatus (3) for one order."""
        self.send(open_order_fields(order))
        self.send(order_status_fields(order))

    def send_execution(self, req_id: int, execution: SimExecution) -> None:
        """execDetails (11) with ``req_id`` (-1 live) followed by its commissionReport (59)."""
        self.send(exec_details_fields(req_id, execution))
        self.send(commission_report_fields(execution))

    def close(self) -> None:
        """Close the socket now (buffered messages are still flushed) and leave the
        simulator's routing table, so no further message reaches this client."""
        if self.closed:
            return
        self.closed = True
        self.simulator.unregister(self)
        self.writer.close()

    # --- loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Handshake (``API\\0`` + version range -> ``serverVersion, connTime``), then serve
        framed requests until the client disconnects or the session is closed."""
        try:
            low, high = await read_handshake(self.reader)
            version = negotiate(low, high)
            conn_time = datetime.now().astimezone().strftime("%Y%m%d %H:%M:%S %Z")
            self._write(encode_message([version, conn_time]))
            await self.writer.drain()
            while not self.closed:
                fields = decode_body(await read_frame(self.reader))
                await self.dispatch(fields)
                if not self.closed:
                    await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ProtocolError:
            logger.warning("TWS simulator: protocol error", exc_info=True)
        finally:
            self.close()

    async def dispatch(self, fields: list[str]) -> None:
        """Route one request by message id; unknown ids are logged and ignored, a request
        the handler cannot parse is answered with error 321 (reqId -1)."""
        handler = self.handlers.get(int(fields[0])) if fields and fields[0].isdigit() else None
        if handler is None:
            logger.info("TWS simulator: ignoring message %s", fields)
            return
        try:
            await handler(fields)
        except (ValueError, IndexError) as error:
            logger.warning("TWS simulator: bad request %s", fields, exc_info=True)
            self.send_error(-1, 321, f"Error validating request: {error}")

    # --- connection -----------------------------------------------------------------------

    async def on_start_api(self, fields: list[str]) -> None:
        """startApi ``[71, 2, clientId, optCapab]`` -> nextValidId (9) + managedAccounts (15);
        if another open connection uses the clientId (after up to 0.2 s for a closing one to
        go): error 326 (reqId -1) and the socket is closed, as TWS does."""
        client_id = int(fields[2])
        for _ in range(40):
            if not self.simulator.client_id_in_use(client_id, self):
                break
            await asyncio.sleep(0.005)
        else:
            self.send_error(-1, 326, CLIENT_ID_IN_USE)
            await self.writer.drain()
            self.close()
            return
        self.client_id = client_id
        self.send([9, 1, self.simulator.book.next_valid_id])
        self.send([15, 1, ",".join(self.simulator.managed_accounts)])

    async def on_req_ids(self, fields: list[str]) -> None:
        """reqIds ``[8, 1, n]`` -> nextValidId (9), above every order id seen."""
        self.send([9, 1, self.simulator.book.next_valid_id])

    async def on_req_current_time(self, fields: list[str]) -> None:
        """reqCurrentTime ``[49, 1]`` -> currentTime (49) in epoch seconds."""
        self.send([49, 1, int(time.time())])

    # --- orders ---------------------------------------------------------------------------

    async def on_place_order(self, fields: list[str]) -> None:
        """placeOrder (``client.placeOrder``) -> the book; order messages are routed to the
        connections of this clientId. Unknown contract: error 200 with the orderId. With
        ``drop_after_next_place_order`` armed and transmit=1, this connection is closed first
        and the order is processed afterwards (no reply reaches this client)."""
        request = parse_place_order(fields)
        self.simulator.count_place(request.order_ref)
        book = self.simulator.book
        found = ContractRef.from_fields(fields, 2).lookup()
        if len(found) != 1:
            book.note_order_id(request.order_id)
            self.send_error(request.order_id, 200, NO_SECURITY)
            return
        if request.transmit and self.simulator.faults.take_drop_after_place():
            logger.info("TWS simulator: dropping connection after placeOrder %s", request.order_id)
            self.close()
        events = book.place(self.client_id or 0, request, found[0])
        self.simulator.route(events)

    async def on_cancel_order(self, fields: list[str]) -> None:
        """cancelOrder ``[4, 1, orderId(, manualCancelOrderTime)]`` -> Cancelled + error 202,
        or error 10147 (unknown) / 10148 (already finished)."""
        self.simulator.route(self.simulator.book.cancel(self.client_id or 0, int(fields[2])))

    def _send_open_orders(self, orders: list[SimOrder]) -> None:
        for order in orders:
            self.send_order(order)
        self.send([53, 1])

    async def on_req_open_orders(self, fields: list[str]) -> None:
        """reqOpenOrders ``[5, 1]`` -> this clientId's working orders as openOrder +
        orderStatus, then openOrderEnd (53)."""
        self._send_open_orders(self.simulator.book.working_orders(self.client_id or 0))

    async def on_req_all_open_orders(self, fields: list[str]) -> None:
        """reqAllOpenOrders ``[16, 1]`` -> every client's working orders, then openOrderEnd."""
        self._send_open_orders(self.simulator.book.working_orders())

    async def on_req_auto_open_orders(self, fields: list[str]) -> None:
        """reqAutoOpenOrders ``[15, 1, autoBind]`` -> like reqAllOpenOrders (no binding of
        TWS-manual orders: there are none)."""
        self._send_open_orders(self.simulator.book.working_orders())

    async def on_req_completed_orders(self, fields: list[str]) -> None:
        """reqCompletedOrders ``[99, apiOnly]`` -> completedOrdersEnd (102) only: completed
        orders are not simulated (use reqExecutions)."""
        self.send([102])

    async def on_req_executions(self, fields: list[str]) -> None:
        """reqExecutions ``[7, 3, reqId, clientId, acctCode, time, symbol, secType, exchange,
        side]`` -> execDetails (reqId) + commissionReport per matching execution, then
        execDetailsEnd (55). Filters: clientId (0 = all), account, time (``yyyymmdd
        hh:mm:ss [zone]``, UTC without a zone; executions at or after it), symbol, secType,
        exchange, side (BUY/SELL or BOT/SLD); empty fields match everything."""
        req_id = int(fields[2])
        client_id = int(fields[3] or 0)
        account, since, symbol, sec_type, exchange, side = (fields + [""] * 10)[4:10]
        start = history.parse_end(since) if since.strip() else None
        wanted_side = {"BUY": "BOT", "SELL": "SLD"}.get(side.upper(), side.upper())
        for execution in self.simulator.book.executions:
            instrument = execution.instrument
            if (
                (client_id and execution.client_id != client_id)
                or (account and execution.account != account)
                or (start is not None and execution.time < start)
                or (symbol and symbol.upper() not in (instrument.symbol, instrument.local_symbol))
                or (sec_type and instrument.sec_type != sec_type)
                or (exchange and execution.exchange != exchange)
                or (wanted_side and execution.side != wanted_side)
            ):
                continue
            self.send_execution(req_id, execution)
        self.send([55, 1, req_id])

    async def on_req_positions(self, fields: list[str]) -> None:
        """reqPositions ``[61, 1]`` -> position (61) per non-zero position, positionEnd (62);
        the connection then receives position updates after fills."""
        self.positions_subscribed = True
        for position in self.simulator.book.positions.values():
            if position.quantity:
                self.send(position_fields(position.account, position))
        self.send([62, 1])

    async def on_cancel_positions(self, fields: list[str]) -> None:
        """cancelPositions ``[64, 1]`` -> no more position updates (no answer)."""
        self.positions_subscribed = False

    # --- account and reference data -------------------------------------------------------

    async def on_req_account_updates(self, fields: list[str]) -> None:
        """reqAccountUpdates ``[6, 2, subscribe, acct]`` -> account values (6), account time
        (8), accountDownloadEnd (54) when subscribing. Values are constants."""
        if fields[2] not in ("1", "True"):
            return
        account = fields[3] or ACCOUNT
        for key, value in (("NetLiquidation", "1000000"), ("TotalCashValue", "1000000")):
            self.send([6, 2, key, value, "USD", account])
        self.send([8, 1, datetime.now().strftime("%H:%M")])
        self.send([54, 1, account])

    async def on_req_account_updates_multi(self, fields: list[str]) -> None:
        """reqAccountUpdatesMulti ``[76, 1, reqId, acct, modelCode, ledgerAndNLV]`` ->
        accountUpdateMultiEnd (74)."""
        self.send([74, 1, int(fields[2])])

    async def on_req_contract_details(self, fields: list[str]) -> None:
        """reqContractDetails ``[9, 8, reqId, contract×12, includeExpired, secIdType, secId]``
        -> contractDetails (10)×n + contractDetailsEnd (52), or error 200 if none match."""
        req_id = int(fields[2])
        contract = ContractRef.from_fields(fields, 3)
        found = contract.lookup()
        if not found:
            self.send_error(req_id, 200, NO_SECURITY)
            return
        for instrument in found:
            exchange = contract.exchange or instrument.primary_exchange
            self.send(contract_details_fields(req_id, instrument, exchange))
        self.send([52, 1, req_id])

    async def on_req_matching_symbols(self, fields: list[str]) -> None:
        """reqMatchingSymbols ``[81, reqId, pattern]`` -> symbolSamples (79)."""
        self.send(symbol_samples_fields(int(fields[1]), match_symbols(fields[2])))

    async def on_req_historical_data(self, fields: list[str]) -> None:
        """reqHistoricalData ``[20, reqId, contract×12, …]`` -> historicalData (17) from the
        shipped CSV files, or error 200 (unknown contract) / 162 (no data, or an armed pacing
        violation) / 321 (bad request)."""
        request = history.HistoryRequest.from_fields(fields)
        if self.simulator.faults.take_pacing():
            self.send_error(request.req_id, 162, history.PACING)
            return
        try:
            found = history.load_history(request)
        except history.HistoryError as error:
            self.send_error(request.req_id, error.code, str(error))
            return
        self.send(history.historical_data_fields(request, found))
