"""One client connection: the handshake, then request dispatch.

Server -> client messages sent here (server version 157 layouts): 4 error, 6 account value,
8 account time, 9 nextValidId, 10 contractDetails, 15 managedAccounts, 17 historicalData,
49 currentTime, 52 contractDetailsEnd, 53 openOrderEnd, 54 accountDownloadEnd,
55 execDetailsEnd, 62 positionEnd, 74 accountUpdateMultiEnd, 79 symbolSamples,
102 completedOrdersEnd.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from apps.ibkr.simulator import history
from apps.ibkr.simulator.instruments import (
    ContractRef,
    contract_details_fields,
    match_symbols,
    symbol_samples_fields,
)
from apps.ibkr.simulator.protocol import (
    Field,
    ProtocolError,
    decode_body,
    encode_message,
    negotiate,
    read_frame,
    read_handshake,
)

logger = logging.getLogger(__name__)

ACCOUNT = "DU123456"
NO_SECURITY = "No security definition has been found for the request"
Handler = Callable[[list[str]], Awaitable[None]]


class Session:
    """Serves one ib_async client over ``reader``/``writer``; ``run_sync`` runs blocking ORM
    work off the event loop (e.g. ``loop.run_in_executor``)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        run_sync: Callable[..., Awaitable[Any]],
        next_order_id: int = 1,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.run_sync = run_sync
        self.next_order_id = next_order_id
        self.client_id: int | None = None
        self.handlers: dict[int, Handler] = {
            5: self.on_req_open_orders,
            6: self.on_req_account_updates,
            7: self.on_req_executions,
            8: self.on_req_ids,
            9: self.on_req_contract_details,
            20: self.on_req_historical_data,
            49: self.on_req_current_time,
            61: self.on_req_positions,
            71: self.on_start_api,
            76: self.on_req_account_updates_multi,
            81: self.on_req_matching_symbols,
            99: self.on_req_completed_orders,
        }

    def send(self, fields: list[Field]) -> None:
        """Frame and queue one message to the client."""
        self.writer.write(encode_message(fields))

    def send_error(self, req_id: int, code: int, message: str) -> None:
        """error (msg 4, version 2): ``reqId, code, message`` — no advancedOrderRejectJson
        below server version 166."""
        self.send([4, 2, req_id, code, message])

    async def run(self) -> None:
        """Handshake (``API\\0`` + version range -> ``serverVersion, connTime``), then serve
        framed requests until the client disconnects."""
        try:
            low, high = await read_handshake(self.reader)
            version = negotiate(low, high)
            conn_time = datetime.now().astimezone().strftime("%Y%m%d %H:%M:%S %Z")
            self.send([version, conn_time])
            await self.writer.drain()
            while True:
                fields = decode_body(await read_frame(self.reader))
                await self.dispatch(fields)
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except ProtocolError:
            logger.warning("TWS simulator: protocol error", exc_info=True)
        finally:
            self.writer.close()

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

    async def on_start_api(self, fields: list[str]) -> None:
        """startApi ``[71, 2, clientId, optCapab]`` -> nextValidId (9) + managedAccounts (15)."""
        self.client_id = int(fields[2])
        self.send([9, 1, self.next_order_id])
        self.send([15, 1, ACCOUNT])

    async def on_req_ids(self, fields: list[str]) -> None:
        """reqIds ``[8, 1, n]`` -> nextValidId (9)."""
        self.send([9, 1, self.next_order_id])

    async def on_req_current_time(self, fields: list[str]) -> None:
        """reqCurrentTime ``[49, 1]`` -> currentTime (49) in epoch seconds."""
        self.send([49, 1, int(time.time())])

    async def on_req_positions(self, fields: list[str]) -> None:
        """reqPositions ``[61, 1]`` -> positionEnd (62); no positions yet."""
        self.send([62, 1])

    async def on_req_open_orders(self, fields: list[str]) -> None:
        """reqOpenOrders ``[5, 1]`` -> openOrderEnd (53); no orders yet."""
        self.send([53, 1])

    async def on_req_completed_orders(self, fields: list[str]) -> None:
        """reqCompletedOrders ``[99, apiOnly]`` -> completedOrdersEnd (102)."""
        self.send([102])

    async def on_req_account_updates(self, fields: list[str]) -> None:
        """reqAccountUpdates ``[6, 2, subscribe, acct]`` -> account values (6), account time
        (8), accountDownloadEnd (54) when subscribing."""
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

    async def on_req_executions(self, fields: list[str]) -> None:
        """reqExecutions ``[7, 3, reqId, filter…]`` -> execDetailsEnd (55); no fills yet."""
        self.send([55, 1, int(fields[2])])

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
        Bar store, or error 200 (unknown contract) / 162 (no data) / 321 (bad request)."""
        request = history.HistoryRequest.from_fields(fields)
        try:
            found = await self.run_sync(history.load_history, request)
        except history.HistoryError as error:
            self.send_error(request.req_id, error.code, str(error))
            return
        self.send(history.historical_data_fields(request, found))
