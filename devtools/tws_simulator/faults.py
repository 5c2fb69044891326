"""Transport faults armed from a test: lost and delayed messages, a connection dropped right
after a placeOrder, historical-data pacing violations.

Pure counters, consumed by the sessions on the simulator's event loop (``SimulatorHandle``
marshals the arming into that loop). Execution-model faults (split fills, order rejection) live
on ``OrderBook`` (``arm_split``, ``arm_reject``).
"""

from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Armed transport faults; each ``take_*`` consumes one arming and says whether it fired."""

    lose: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    delays: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    drop_after_place: int = 0
    pacing: int = 0

    def arm_lose(self, msg_id: int, count: int = 1) -> None:
        """Drop the next ``count`` outgoing messages whose id is ``msg_id``."""
        self.lose[msg_id] += count

    def arm_delay(self, msg_id: int, seconds: float) -> None:
        """Deliver the next outgoing message with id ``msg_id`` ``seconds`` later (later
        messages are not held back, so they overtake it)."""
        self.delays[msg_id].append(seconds)

    def take_lose(self, msg_id: int) -> bool:
        """True (and one arming used) if this outgoing message must be dropped."""
        if self.lose.get(msg_id, 0) > 0:
            self.lose[msg_id] -= 1
            return True
        return False

    def take_delay(self, msg_id: int) -> float | None:
        """The delay in seconds for this outgoing message, or None."""
        queue = self.delays.get(msg_id)
        return queue.popleft() if queue else None

    def take_drop_after_place(self) -> bool:
        """True (and the arming used) for the placeOrder whose connection must be dropped."""
        if self.drop_after_place > 0:
            self.drop_after_place -= 1
            return True
        return False

    def take_pacing(self) -> bool:
        """True (and one arming used) if this reqHistoricalData gets a pacing violation."""
        if self.pacing > 0:
            self.pacing -= 1
            return True
        return False
