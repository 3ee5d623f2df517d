"""Portal seats (a vendor login active on any day of a month is a seat for that month)
and the account commands: add-buyer, add-vendor-user, seats."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from tests.factories import UserFactory
from vendorportal.accounts import selectors, services
from vendorportal.accounts.models import Role, SeatPeriod, User
from vendorportal.errors import DomainError

pytestmark = pytest.mark.django_db

PASSWORD = "plum-orbit-velvet-42"
D = Decimal


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def on(monkeypatch):
    """`on(date)`: the services' today from now on."""

    def set_today(day: dt.date) -> None:
        monkeypatch.setattr(services, "today", lambda: day)

    return set_today


@pytest.fixture
def superuser(db):
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


def login(vendor, email, role=Role.VENDOR_USER):
    return services.vendor_login_create(vendor=vendor, email=email, role=role, password=PASSWORD)


def seats(month: str) -> dict[str, list[str]]:
    report = selectors.seat_report(selectors.parse_month(month))
    return {v.code: [login.email for login in v.logins] for v in report.vendors}


class TestSeatCounting:
    def test_across_month_boundaries(self, on, vendor_a, vendor_b, alice, settings):
        settings.PORTAL_SEAT_PRICE = D("20")
        on(dt.date(2026, 9, 1))
        admin = login(vendor_a, "admin@acme.example", Role.VENDOR_ADMIN)  # all along
        on(dt.date(2026, 10, 31))
        late = login(vendor_a, "late@acme.example")  # activated on the last day of October
        on(dt.date(2026, 11, 10))
        mid = login(vendor_a, "mid@acme.example")  # activated mid-November
        bolt = login(vendor_b, "one@bolt.example")
        services.buyer_create(email="buyer2@example.com", password=PASSWORD)  # never a seat
        on(dt.date(2026, 11, 20))
        services.user_deactivate(user=mid, by=admin)  # deactivated mid-November
        on(dt.date(2026, 11, 30))
        services.user_deactivate(user=late, by=admin)  # last active day: November 30
        on(dt.date(2027, 1, 5))
        services.user_reactivate(user=mid, by=admin)  # back in January

        assert seats("2026-08") == {}
        assert seats("2026-09") == {"ACME": ["admin@acme.example"]}
        assert seats("2026-10") == {"ACME": ["admin@acme.example", "late@acme.example"]}
        assert seats("2026-11") == {
            "ACME": ["admin@acme.example", "late@acme.example", "mid@acme.example"],
            "BOLT": ["one@bolt.example"],
        }
        assert seats("2026-12") == {"ACME": ["admin@acme.example"], "BOLT": ["one@bolt.example"]}
        assert seats("2027-01") == {
            "ACME": ["admin@acme.example", "mid@acme.example"],
            "BOLT": ["one@bolt.example"],
        }

        november = selectors.seat_report(dt.date(2026, 11, 1))
        acme, bolt_seats = november.vendors
        assert (acme.seats, acme.charge, bolt_seats.seats, bolt_seats.charge) == (
            3,
            D("60.00"),
            1,
            D("20.00"),
        )
        assert (november.seats, november.total) == (4, D("80.00"))
        spans = {login.email: login.spans for login in acme.logins}
        assert spans["mid@acme.example"] == [(dt.date(2026, 11, 10), dt.date(2026, 11, 20))]
        assert spans["admin@acme.example"] == [(dt.date(2026, 11, 1), dt.date(2026, 11, 30))]
        assert bolt.pk in {login.user_id for login in bolt_seats.logins}

        settings.PORTAL_SEAT_PRICE = D("12.50")
        assert selectors.seat_report(dt.date(2026, 11, 1)).total == D("50.00")

    def test_deactivated_and_reactivated_within_a_month_is_one_seat(self, on, vendor_a, alice):
        on(dt.date(2026, 11, 3))
        user = login(vendor_a, "flaky@acme.example")
        on(dt.date(2026, 11, 5))
        services.user_deactivate(user=user, by=alice)
        on(dt.date(2026, 11, 25))
        services.user_reactivate(user=user, by=alice)
        on(dt.date(2026, 11, 25))
        services.user_deactivate(user=user, by=alice)
        services.user_reactivate(user=user, by=alice)  # the same day again
        report = selectors.seat_report(dt.date(2026, 11, 1))
        (acme,) = report.vendors
        assert acme.seats == 1
        assert acme.logins[0].spans == [
            (dt.date(2026, 11, 3), dt.date(2026, 11, 5)),
            (dt.date(2026, 11, 25), dt.date(2026, 11, 25)),
            (dt.date(2026, 11, 25), dt.date(2026, 11, 30)),
        ]
        assert SeatPeriod.objects.filter(user=user, ended_on__isnull=True).count() == 1

    def test_deactivated_before_the_month_is_no_seat(self, on, vendor_a, alice):
        on(dt.date(2026, 10, 1))
        user = login(vendor_a, "gone@acme.example")
        services.user_deactivate(user=user, by=alice)
        assert seats("2026-10") == {"ACME": ["gone@acme.example"]}
        assert seats("2026-11") == {}

    def test_the_history_records_who(self, on, vendor_a, alice):
        on(dt.date(2026, 11, 3))
        user = login(vendor_a, "who@acme.example")
        services.user_deactivate(user=user, by=alice)
        period = SeatPeriod.objects.get(user=user)
        assert (period.started_by, period.ended_by, period.ended_on) == (
            None,
            alice,
            dt.date(2026, 11, 3),
        )

    def test_parse_month(self):
        assert selectors.parse_month("2026-02") == dt.date(2026, 2, 1)
        assert selectors.month_end(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
        for bad in ("2026-13", "2026-1", "26-01", "november", ""):
            with pytest.raises(ValueError, match="YYYY-MM"):
                selectors.parse_month(bad)


class TestSeatsInTheBackOffice:
    def test_a_login_made_and_deactivated_in_the_admin_is_recorded(
        self, client, superuser, vendor_a, on
    ):
        on(dt.date(2026, 11, 2))
        client.force_login(superuser)
        response = client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "made.in.admin@acme.example",
                "role": Role.VENDOR_USER,
                "vendor": vendor_a.pk,
                "usable_password": "true",
                "password1": PASSWORD,
                "password2": PASSWORD,
            },
        )
        assert response.status_code == 302, response.content.decode()
        user = User.objects.get(email="made.in.admin@acme.example")
        period = SeatPeriod.objects.get(user=user)
        assert (period.vendor, period.started_on, period.ended_on, period.started_by) == (
            vendor_a,
            dt.date(2026, 11, 2),
            None,
            superuser,
        )
        on(dt.date(2026, 11, 9))
        response = client.post(
            reverse("admin:accounts_user_change", args=[user.pk]),
            {
                "email": user.email,
                "role": Role.VENDOR_USER,
                "vendor": vendor_a.pk,
                "date_joined_0": "2026-11-02",
                "date_joined_1": "00:00:00",
                # is_active left out: unticked
            },
        )
        assert response.status_code == 302, response.content.decode()
        period.refresh_from_db()
        assert (period.ended_on, period.ended_by) == (dt.date(2026, 11, 9), superuser)

    def test_moving_a_login_to_another_vendor_or_to_buyer(self, on, vendor_a, vendor_b):
        on(dt.date(2026, 11, 2))
        user = login(vendor_a, "mover@example.com")
        on(dt.date(2026, 11, 15))
        user.vendor = vendor_b
        user.save()
        services.seats_sync(user=user)
        assert seats("2026-11") == {"ACME": ["mover@example.com"], "BOLT": ["mover@example.com"]}
        on(dt.date(2026, 12, 10))
        user.role, user.vendor = Role.BUYER, None
        user.save()
        services.seats_sync(user=user)
        assert seats("2027-01") == {}
        assert not SeatPeriod.objects.filter(user=user, ended_on__isnull=True).exists()

    def test_the_seats_page(self, client, superuser, vendor_a, on, settings):
        settings.PORTAL_SEAT_PRICE = D("20")
        on(dt.date(2026, 11, 2))
        login(vendor_a, "seat@acme.example")
        client.force_login(superuser)
        index = client.get(reverse("admin:index")).content.decode()
        assert "Portal seats" in index
        page = client.get(reverse("admin:accounts_seatperiod_changelist"), {"month": "2026-11"})
        assert page.status_code == 200
        body = page.content.decode()
        assert "Portal seats in November 2026" in body
        assert "seat@acme.example" in body and "20.00" in body
        assert "?month=2026-10" in body and "?month=2026-12" in body
        bad = client.get(reverse("admin:accounts_seatperiod_changelist"), {"month": "nope"})
        assert bad.status_code == 400 and "YYYY-MM" in bad.content.decode()
        period = SeatPeriod.objects.get()
        change = client.get(reverse("admin:accounts_seatperiod_change", args=[period.pk]))
        assert change.status_code == 200

    def test_the_seats_page_is_closed_to_vendor_logins(self, client, alice):
        client.force_login(alice)
        response = client.get(reverse("admin:accounts_seatperiod_changelist"))
        assert response.status_code == 302  # to the admin's login


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class TestCommands:
    def test_seats(self, on, vendor_a, vendor_b, settings):
        settings.PORTAL_SEAT_PRICE = D("20")
        on(dt.date(2026, 11, 2))
        login(vendor_a, "a1@acme.example")
        login(vendor_a, "a2@acme.example")
        login(vendor_b, "b1@bolt.example")
        output = run("seats", "--month", "2026-11")
        assert "Portal seats in 2026-11 at 20.00 per login" in output
        assert "ACME Acme Components: 2 logins, 40.00" in output
        assert "BOLT Bolt Fasteners: 1 login, 20.00" in output
        assert "  a1@acme.example  (11-02 to 11-30)" in output
        assert "Total: 3 logins, 60.00" in output
        assert "No vendor login was active" in run("seats", "--month", "2026-10")
        with pytest.raises(CommandError, match="YYYY-MM"):
            run("seats", "--month", "11/2026")

    def test_add_buyer(self):
        output = run("add-buyer", "Dana@Example.com", "--password", PASSWORD)
        user = User.objects.get(email="dana@example.com")
        assert (user.role, user.vendor, user.is_staff, user.is_superuser) == (
            Role.BUYER,
            None,
            False,
            False,
        )
        assert user.check_password(PASSWORD)
        assert "Buyer login dana@example.com created." in output
        assert PASSWORD not in output
        assert not SeatPeriod.objects.exists()  # buyers are not seats

    def test_add_buyer_admin_with_a_generated_password(self):
        output = run("add-buyer", "root2@example.com", "--admin")
        user = User.objects.get(email="root2@example.com")
        assert user.is_staff and user.is_superuser
        match = re.search(r"^Password: (\S+)$", output, re.MULTILINE)
        assert match and len(match[1]) >= 20
        assert user.check_password(match[1])
        assert output.count(match[1]) == 1  # printed once

    def test_add_buyer_refusals(self, buyer):
        with pytest.raises(CommandError, match="already has a login") as refused:
            run("add-buyer", "BUYER@example.com", "--password", PASSWORD)
        assert refused.value.returncode == 1
        with pytest.raises(CommandError, match="too short"):
            run("add-buyer", "new@example.com", "--password", "x1")
        with pytest.raises(CommandError, match="valid e-mail"):
            run("add-buyer", "not-an-address", "--password", PASSWORD)
        assert User.objects.count() == 1

    def test_add_vendor_user(self, vendor_a, on):
        on(dt.date(2026, 11, 2))
        output = run("add-vendor-user", "acme", "amy@acme.example")
        user = User.objects.get(email="amy@acme.example")
        assert (user.role, user.vendor, user.is_staff) == (Role.VENDOR_USER, vendor_a, False)
        match = re.search(r"^Password: (\S+)$", output, re.MULTILINE)
        assert match and user.check_password(match[1])
        assert "Vendor user login amy@acme.example created for ACME Acme Components." in output
        assert SeatPeriod.objects.get(user=user).started_on == dt.date(2026, 11, 2)

        run("add-vendor-user", "ACME", "boss@acme.example", "--admin", "--password", PASSWORD)
        boss = User.objects.get(email="boss@acme.example")
        assert boss.role == Role.VENDOR_ADMIN and boss.check_password(PASSWORD)

    def test_add_vendor_user_unknown_vendor(self, vendor_a):
        with pytest.raises(CommandError, match="There is no vendor with code 'NOPE'") as refused:
            run("add-vendor-user", "NOPE", "x@example.com", "--password", PASSWORD)
        assert refused.value.returncode == 1
        assert not User.objects.filter(email="x@example.com").exists()

    def test_vendor_login_rules(self, vendor_a, amos):
        with pytest.raises(DomainError, match="vendor user or a vendor admin"):
            services.vendor_login_create(
                vendor=vendor_a, email="b@example.com", role=Role.BUYER, password=PASSWORD
            )
        with pytest.raises(DomainError) as refused:
            services.vendor_login_create(
                vendor=vendor_a,
                email="b@example.com",
                role=Role.VENDOR_USER,
                password=PASSWORD,
                by=amos,
            )
        assert refused.value.code == "forbidden"
