"""Factories for domain objects. Orders are built through the services, never raw."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from vendorportal.accounts.models import Role, User
from vendorportal.purchasing import services
from vendorportal.purchasing.models import Item, PurchaseOrder, Vendor

TEST_PASSWORD = "correct horse battery staple"


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"V{n:04d}")
    name = factory.Faker("company")
    contact_email = factory.Faker("company_email")


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        django_get_or_create = ("part_number",)

    part_number = factory.Sequence(lambda n: f"P-{n:05d}")
    description = factory.Faker("catch_phrase")
    unit_of_measure = "EA"
    standard_cost = Decimal("1.25")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda o: o.email)
    role = Role.BUYER
    password = factory.django.Password(TEST_PASSWORD)


def make_order(
    *,
    vendor: Vendor,
    by: User | None = None,
    kind: str = "standard",
    lines: list[tuple[str, str]] | None = None,
    due: dt.date = dt.date(2026, 12, 15),
    issue: bool = True,
    **header: object,
) -> PurchaseOrder:
    """An order with lines of (quantity, unit price); standard lines due on `due`."""
    lines = lines if lines is not None else [("100", "2.50")]
    inputs = [
        services.LineInput(
            item=ItemFactory(),
            quantity=Decimal(qty),
            unit_price=Decimal(price),
            due_date=due if kind == "standard" else None,
        )
        for qty, price in lines
    ]
    order = services.order_create(vendor=vendor, by=by, kind=kind, lines=inputs, **header)  # type: ignore[arg-type]
    if issue:
        order = services.order_issue(order=order, by=by)
    return order
