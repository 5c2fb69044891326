"""The strategies file's ``positions`` section: applied to the strategy's position settings,
validated (max_scale_ins >= 1, close_before_session_end_min 1–240 and only with a trading
calendar), every problem named by its path."""

from pathlib import Path

import pytest
import yaml

from apps.strategies.models import Strategy
from apps.strategies.services import StrategiesFileError, strategies_apply
from tests.strategies.helpers import DEMO_FILE, GOOG_SLUG, Document, strategy_of, write

pytestmark = pytest.mark.django_db
EUR_SLUG = "eurusd-hourly-momentum"  # EUR has no trading calendar in the demo file
SETTINGS = {
    "opposite_signal": "reverse",
    "close_order_type": "LMT",
    "scale_in": True,
    "max_scale_ins": 3,
    "scale_in_exits": "keep",
    "trail_stop": True,
    "close_before_session_end_min": 15,
}


def demo() -> Document:
    document: Document = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    return document


def test_the_positions_section_sets_every_position_setting(tmp_path: Path) -> None:
    document = demo()
    strategy_of(document, GOOG_SLUG)["positions"] = SETTINGS
    path = write(tmp_path, document)

    strategies_apply(path=path)

    goog = Strategy.objects.get(slug=GOOG_SLUG)
    assert {name: getattr(goog, name) for name in SETTINGS} == SETTINGS
    # Left out: the defaults (never closed before the session end).
    eur = Strategy.objects.get(slug=EUR_SLUG)
    assert (eur.opposite_signal, eur.close_order_type, eur.scale_in, eur.max_scale_ins) == (
        "close",
        "MKT",
        False,
        1,
    )
    assert (eur.scale_in_exits, eur.trail_stop, eur.close_before_session_end_min) == (
        "newest",
        False,
        None,
    )
    assert strategies_apply(path=path).unchanged == [s["slug"] for s in document["strategies"]]
    # Removing the section brings the defaults back.
    del strategy_of(document, GOOG_SLUG)["positions"]
    assert strategies_apply(path=write(tmp_path, document)).updated == [GOOG_SLUG]
    goog.refresh_from_db()
    assert goog.close_before_session_end_min is None and goog.opposite_signal == "close"


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            {"max_scale_ins": 0},
            "positions.max_scale_ins: Input should be greater than or equal to 1",
        ),
        (
            {"close_before_session_end_min": 0},
            "positions.close_before_session_end_min: Input should be greater than or equal to 1",
        ),
        (
            {"close_before_session_end_min": 241},
            "positions.close_before_session_end_min: Input should be less than or equal to 240",
        ),
        ({"opposite_signal": "flip"}, "positions.opposite_signal: Input should be 'close' or"),
        ({"close_order_type": "STP"}, "positions.close_order_type: Input should be 'MKT' or"),
        ({"scale_in_exits": "move"}, "positions.scale_in_exits: Input should be 'newest' or"),
        ({"trail": True}, "positions.trail: Extra inputs are not permitted"),
    ],
)
def test_bad_settings_are_refused_by_path(
    tmp_path: Path, given: dict[str, object], problem: str
) -> None:
    document = demo()
    strategy_of(document, GOOG_SLUG)["positions"] = given

    with pytest.raises(StrategiesFileError) as raised:
        strategies_apply(path=write(tmp_path, document))

    assert problem in str(raised.value)
    assert not Strategy.objects.exists()


def test_a_session_end_close_needs_a_trading_calendar(tmp_path: Path) -> None:
    document = demo()
    strategy_of(document, EUR_SLUG)["positions"] = {"close_before_session_end_min": 30}

    with pytest.raises(StrategiesFileError) as raised:
        strategies_apply(path=write(tmp_path, document))

    assert (
        f"strategy {EUR_SLUG}: close_before_session_end_min: needs a symbol with a trading_calendar"
    ) in str(raised.value)
    assert not Strategy.objects.exists()
