"""Position arithmetic of one strategy position: average cost with commissions (IBKR-style),
realized P&L, excess beyond the position, entry/exit prices, initial risk and R."""

from decimal import Decimal

from apps.positions.accounting import Book, book_add, book_reduce, outcome

D = Decimal


def add(book: Book, quantity: str, price: str, commission: str, stop: str | None = None) -> None:
    book_add(
        book,
        quantity=D(quantity),
        price=D(price),
        commission=D(commission),
        stop=D(stop) if stop else None,
    )


def reduce(book: Book, quantity: str, price: str, commission: str) -> tuple[Decimal, Decimal]:
    return book_reduce(book, quantity=D(quantity), price=D(price), commission=D(commission))


def state(book: Book) -> tuple[Decimal, Decimal, Decimal]:
    return book.quantity, book.average_cost, book.realized


def test_opening_a_long_puts_the_commission_into_the_average_cost() -> None:
    book = Book("LONG")
    add(book, "100", "50", "2")
    # (100 × 50 + 2) / 100 = 50.02
    assert state(book) == (D(100), D("50.02"), D(0))


def test_adding_to_a_long_averages_cost_including_both_commissions() -> None:
    book = Book("LONG")
    add(book, "100", "50", "2")  # avg 50.02
    add(book, "50", "53", "1")
    # (100 × 50.02 + 50 × 53 + 1) / 150 = 7653 / 150 = 51.02
    assert state(book) == (D(150), D("51.02"), D(0))
    # entry price excludes commissions: (5000 + 2650) / 150 = 51
    assert book.entry_price == D(51)


def test_average_cost_is_kept_to_eight_places() -> None:
    book = Book("LONG")
    add(book, "3", "10", "1")
    # (30 + 1) / 3 = 10.333333333… → 10.33333333
    assert book.average_cost == D("10.33333333")


def test_partial_close_realizes_pnl_net_of_its_commission() -> None:
    book = Book("LONG")
    add(book, "100", "50", "2")
    realized, excess = reduce(book, "40", "55", "2")
    # (55 − 50.02) × 40 − 2 = 197.20; 60 remain at the same average cost
    assert (realized, excess) == (D("197.2000"), D(0))
    assert state(book) == (D(60), D("50.02"), D("197.2"))


def test_full_close_resets_the_average_cost_and_accumulates_realized_pnl() -> None:
    book = Book("LONG")
    add(book, "100", "50", "2")
    reduce(book, "40", "55", "2")
    realized, _ = reduce(book, "60", "48", "2")
    # (48 − 50.02) × 60 − 2 = −123.20; total 197.20 − 123.20 = 74.00
    assert realized == D("-123.2000")
    assert state(book) == (D(0), D(0), D("74"))
    # exits at (40 × 55 + 60 × 48) / 100 = 50.8; commission 2 + 2 + 2
    assert (book.exit_price, book.commission) == (D("50.8"), D(6))


def test_an_exit_larger_than_the_position_closes_it_and_returns_the_excess() -> None:
    book = Book("LONG")
    add(book, "100", "50", "2")
    realized, excess = reduce(book, "150", "60", "3")
    # (60 − 50.02) × 100 − 3 = 995: the whole commission is the position's; 50 are no one's
    assert (realized, excess) == (D("995.0000"), D(50))
    assert state(book) == (D(0), D(0), D("995"))


def test_short_side_accounting() -> None:
    book = Book("SHORT")
    # sell 100 at 50 (commission 2) → 100 short at (5000 − 2) / 100 = 49.98
    add(book, "100", "50", "2")
    assert state(book) == (D(100), D("49.98"), D(0))
    # add: sell 100 at 48 (2) → (100 × 49.98 + 100 × 48 − 2) / 200 = 48.98
    add(book, "100", "48", "2")
    assert state(book) == (D(200), D("48.98"), D(0))
    # cover 50 at 45 (1): (48.98 − 45) × 50 − 1 = 198
    assert reduce(book, "50", "45", "1") == (D("198.0000"), D(0))
    # cover 150 at 50 (1): (48.98 − 50) × 150 − 1 = −154
    assert reduce(book, "150", "50", "1") == (D("-154.0000"), D(0))
    assert state(book) == (D(0), D(0), D("44"))


def test_realized_pnl_is_rounded_to_four_places() -> None:
    book = Book("LONG")
    add(book, "3", "10", "1")  # avg 10.33333333
    realized, _ = reduce(book, "3", "11", "0")
    # (11 − 10.33333333) × 3 = 2.00000001 → 2.0000
    assert realized == D("2.0000")


def test_r_multiple_is_realized_over_the_initial_risk() -> None:
    # given 100 bought at 50 with the signal's stop at 48: 100 × 2 = 200 at risk
    book = Book("LONG")
    add(book, "100", "50", "0", stop="48")
    assert book.initial_risk == D(200)
    # when sold at 54 without commission: 400 realized
    reduce(book, "100", "54", "0")
    # then R = 400 / 200 = 2
    assert book.r_multiple == D(2)
    assert outcome(book.realized) == "win"


def test_without_a_stop_the_r_multiple_is_unknown() -> None:
    book = Book("SHORT")
    add(book, "10", "50", "0")
    reduce(book, "10", "51", "0")
    assert (book.r_multiple, outcome(book.realized)) == (None, "loss")
