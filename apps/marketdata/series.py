"""BarSeries: the bars a run analyses, as NumPy arrays plus the exact last close."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from apps.marketdata.bar_checks import OhlcvRow

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BarSeries:
    """N bars, oldest first: ``ts`` UTC open times, float64 arrays of shape (N,).

    Floats feed TA-Lib and Plotly only; ``last_close`` keeps the stored Decimal for order logic.
    """

    ts: list[datetime]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray
    last_close: Decimal

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_rows(cls, rows: Sequence[OhlcvRow]) -> "BarSeries":
        """Build a series from validated rows (at least one)."""
        columns = {
            name: np.array([float(getattr(row, name)) for row in rows], dtype=np.float64)
            for name in ("open", "high", "low", "close", "volume")
        }
        return cls(ts=[row.ts for row in rows], last_close=rows[-1].close, **columns)

    def inputs(self) -> dict[str, FloatArray]:
        """The price arrays keyed as TA-Lib's abstract API expects them."""
        return {
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }
