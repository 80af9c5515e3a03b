"""Nightly job: totals each customer's month and writes the invoices bucket."""

from dataclasses import dataclass


@dataclass
class LineItem:
    sku: str
    unit_price_cents: int
    quantity: int


def monthly_total_cents(items: list[LineItem]) -> int:
    return sum(i.unit_price_cents * i.quantity for i in items)


def run(customers: dict[str, list[LineItem]]) -> dict[str, int]:
    return {name: monthly_total_cents(items) for name, items in customers.items()}
