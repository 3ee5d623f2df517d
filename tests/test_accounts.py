"""Accounts: roles, invitations by e-mail link, the vendor admin's team page,
deactivation (which ends open sessions at once) and password reset."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, cast

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD, UserFactory
from vendorportal.accounts import services
from vendorportal.accounts.models import Invitation, InvitationStatus, Role, SeatPeriod, User
from vendorportal.errors import DomainError

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum-orbit-velvet-42"
TEAM = "/portal/team/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Argon2 costs ~0.1 s per hash; these tests are not about hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def superuser(db):
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


def invite(client, email, role=Role.VENDOR_USER, **extra):
    return client.post(f"{TEAM}invite", {"email": email, "role": role, **extra})


def html_of(message: Any) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    (content, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def link_in(message: Any) -> str:
    """The accept link's path, from the text body, checked to be in the html body too."""
    match = re.search(r"http://testserver(/portal/team/accept/[\w-]+/)", str(message.body))
    assert match, message.body
    assert match[0] in html_of(message)
    return match[1]


def make_user(**fields: Any) -> User:
    return cast(User, UserFactory(**fields))


def token_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def accept(client, path, password=NEW_PASSWORD, password2=None, **names):
    return client.post(path, {"password1": password, "password2": password2 or password, **names})


# ---------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------


class TestRoles:
    @pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
    def test_a_vendor_login_can_never_be_staff(self, alice, flag):
        setattr(alice, flag, True)
        with pytest.raises(IntegrityError), transaction.atomic():
            alice.save()

    def test_buyers_can_be_administrators(self, buyer):
        buyer.is_staff = buyer.is_superuser = True
        buyer.save()

    def test_the_back_office_refuses_staff_rights_for_a_vendor_login(
        self, client, superuser, amos, vendor_a
    ):
        client.force_login(superuser)
        response = client.post(
            reverse("admin:accounts_user_change", args=[amos.pk]),
            {
                "email": amos.email,
                "role": Role.VENDOR_USER,
                "vendor": vendor_a.pk,
                "is_active": "on",
                "is_staff": "on",
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
            },
        )
        assert response.status_code == 200  # the form again, with the refusal
        assert "can never have staff or superuser status" in response.content.decode()
        amos.refresh_from_db()
        assert not amos.is_staff

    def test_role_properties(self, buyer, alice, amos):
        assert buyer.is_buyer and not buyer.is_vendor_user
        assert alice.is_vendor_user and alice.is_vendor_admin
        assert amos.is_vendor_user and not amos.is_vendor_admin


# ---------------------------------------------------------------------------------------
# Invitations, end to end
# ---------------------------------------------------------------------------------------


class TestInvitationFlow:
    def test_invite_accept_and_the_link_works_once(self, client, alice, vendor_a):
        client.force_login(alice)
        response = invite(client, "New.Person@Acme.Example", Role.VENDOR_ADMIN)
        assert response.status_code == 302 and response["Location"] == TEAM
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == ["new.person@acme.example"]
        assert message.subject == "Alice invited you to Acme Components on Vendor Portal"
        assert "vendor admin of Acme Components" in message.body
        path = link_in(message)

        invitation = Invitation.objects.get()
        assert (invitation.vendor, invitation.role, invitation.created_by) == (
            vendor_a,
            Role.VENDOR_ADMIN,
            alice,
        )
        # Only a hash of the token is stored.
        token = token_of(path)
        assert token not in invitation.token_hash
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        days = (invitation.expires_at - invitation.created_at).days
        assert days == 7
        page = client.get(TEAM).content.decode()
        assert "new.person@acme.example" in page  # listed as pending

        client.logout()
        # Opening the link changes nothing (mail scanners follow links).
        page = client.get(path)
        assert page.status_code == 200
        assert "Join Acme Components" in page.content.decode()
        assert client.get(path).status_code == 200

        response = accept(client, path, first_name="Nina", last_name="New")
        assert response.status_code == 302 and response["Location"] == "/portal/"
        user = User.objects.get(email="new.person@acme.example")
        assert (user.vendor, user.role, user.first_name, user.is_active) == (
            vendor_a,
            Role.VENDOR_ADMIN,
            "Nina",
            True,
        )
        assert user.username == user.email
        assert user.check_password(NEW_PASSWORD)
        invitation.refresh_from_db()
        assert invitation.accepted_at is not None and invitation.user == user
        assert SeatPeriod.objects.filter(user=user, ended_on__isnull=True).count() == 1
        # Logged in as the new login, in its vendor's portal.
        home = client.get("/portal/")
        assert home.status_code == 200 and home.wsgi_request.user == user

        # The link is spent.
        client.logout()
        again = client.get(path)
        assert again.status_code == 410
        assert "already been used" in again.content.decode()
        again = accept(client, path, password="another-Password-99")
        assert again.status_code == 410
        assert User.objects.filter(email="new.person@acme.example").count() == 1
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)

    def test_expired_link_is_refused(self, client, alice, settings):
        settings.INVITATION_DAYS = 3
        client.force_login(alice)
        invite(client, "late@acme.example")
        path = link_in(mail.outbox[0])
        invitation = Invitation.objects.get()
        assert invitation.expires_at - invitation.created_at == dt.timedelta(days=3)
        Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        client.logout()
        for response in (client.get(path), accept(client, path)):
            assert response.status_code == 410
            assert "This invitation has expired." in response.content.decode()
        assert not User.objects.filter(email="late@acme.example").exists()

    def test_unknown_token_is_a_plain_not_valid_page(self, client, alice):
        response = client.get("/portal/team/accept/not-a-real-token/")
        assert response.status_code == 404
        body = response.content.decode()
        assert "This invitation link is not valid." in body
        assert accept(client, "/portal/team/accept/not-a-real-token/").status_code == 404
        assert User.objects.count() == 1  # alice only

    def test_password_is_validated_and_errors_show_beside_their_field(self, client, alice):
        client.force_login(alice)
        invite(client, "weak@acme.example")
        path = link_in(mail.outbox[0])
        client.logout()
        empty = client.post(path, {})
        assert empty.status_code == 400 and "This field is required." in empty.content.decode()
        response = accept(client, path, password="123")
        assert response.status_code == 400
        body = response.content.decode()
        assert 'id="id_password1-errors"' in body
        assert "This password is too short" in body and "entirely numeric" in body
        # Similar to the address it is for.
        response = accept(client, path, password="weak@acme.example")
        assert "too similar to the" in response.content.decode()
        response = accept(client, path, password=NEW_PASSWORD, password2="something-else-1")
        assert response.status_code == 400
        assert 'id="id_password2-errors"' in response.content.decode()
        assert not User.objects.filter(email="weak@acme.example").exists()
        assert Invitation.objects.get().status == InvitationStatus.PENDING
        assert accept(client, path).status_code == 302

    def test_an_address_with_a_login_cannot_be_invited(self, client, alice, bob):
        client.force_login(alice)
        for address in ("BOB@bolt.example", "alice@acme.example"):
            response = invite(client, address)
            assert response.status_code == 400
            body = response.content.decode()
            assert 'id="id_email-errors"' in body
            assert "This e-mail address already has a login." in body
        assert not Invitation.objects.exists()
        assert mail.outbox == []

    def test_the_vendor_comes_from_the_login_never_the_form(self, client, alice, vendor_b):
        client.force_login(alice)
        invite(client, "sneaky@example.com", vendor=vendor_b.pk, vendor_id=vendor_b.pk)
        assert Invitation.objects.get().vendor_id == alice.vendor_id

    def test_reinviting_replaces_the_earlier_link(self, client, alice):
        client.force_login(alice)
        invite(client, "twice@acme.example")
        invite(client, "twice@acme.example", Role.VENDOR_ADMIN)
        first, second = (link_in(m) for m in mail.outbox)
        client.logout()
        response = client.get(first)
        assert response.status_code == 410
        assert "replaced by a newer one" in response.content.decode()
        assert accept(client, second).status_code == 302
        assert User.objects.get(email="twice@acme.example").role == Role.VENDOR_ADMIN

    def test_withdrawn_invitation_link_stops_working(self, client, alice):
        client.force_login(alice)
        invite(client, "maybe@acme.example")
        path = link_in(mail.outbox[0])
        invitation = Invitation.objects.get()
        response = client.post(f"{TEAM}invitations/{invitation.public_id}/revoke")
        assert response.status_code == 302
        client.logout()
        assert client.get(path).status_code == 410

    def test_a_deactivated_inviters_links_stop_working(self, client, alice, vendor_a, buyer):
        other_admin = make_user(email="otto@acme.example", role=Role.VENDOR_ADMIN, vendor=vendor_a)
        client.force_login(other_admin)
        invite(client, "friend@acme.example")
        path = link_in(mail.outbox[0])
        services.user_deactivate(user=other_admin, by=alice)
        assert Invitation.objects.get().status == InvitationStatus.REVOKED
        client.logout()
        assert client.get(path).status_code == 410
        assert not User.objects.filter(email="friend@acme.example").exists()

    def test_address_taken_meanwhile_is_refused_at_accept(self, client, alice, vendor_b):
        client.force_login(alice)
        invite(client, "both@example.com")
        path = link_in(mail.outbox[0])
        services.vendor_login_create(
            vendor=vendor_b, email="both@example.com", role=Role.VENDOR_USER, password=NEW_PASSWORD
        )
        client.logout()
        response = accept(client, path)
        assert response.status_code == 400
        assert "already has a login" in response.content.decode()
        assert User.objects.get(email="both@example.com").vendor == vendor_b

    def test_logged_in_visitor_is_asked_to_log_out_first(self, client, alice):
        client.force_login(alice)
        invite(client, "colleague@acme.example")
        path = link_in(mail.outbox[0])
        page = client.get(path)
        assert page.status_code == 200
        assert "You are logged in" in page.content.decode()
        assert accept(client, path).status_code == 200
        assert not User.objects.filter(email="colleague@acme.example").exists()

    def test_links_start_with_site_url_when_set(self, client, alice, settings):
        settings.SITE_URL = "https://portal.example.com"
        client.force_login(alice)
        invite(client, "far@acme.example")
        assert "https://portal.example.com/portal/team/accept/" in mail.outbox[0].body

    def test_the_email_holds_nothing_internal(self, client, alice, vendor_a):
        vendor_a.internal_notes = "SENTINEL-INTERNAL-NOTE"
        vendor_a.rating = 1
        vendor_a.save()
        client.force_login(alice)
        invite(client, "clean@acme.example")
        message = mail.outbox[0]
        for part in (str(message.subject), str(message.body), html_of(message)):
            assert "SENTINEL" not in part

    def test_an_administrator_invites_from_the_back_office(self, client, superuser, vendor_a):
        client.force_login(superuser)
        add = reverse("admin:accounts_invitation_add")
        assert client.get(add).status_code == 200
        response = client.post(
            add, {"vendor": vendor_a.pk, "email": "via.admin@acme.example", "role": "vendor_user"}
        )
        assert response.status_code == 302
        invitation = Invitation.objects.get()
        assert (invitation.vendor, invitation.created_by) == (vendor_a, superuser)
        path = link_in(mail.outbox[0])
        # An address with a login is refused beside the field.
        response = client.post(
            add, {"vendor": vendor_a.pk, "email": "root@example.com", "role": "vendor_user"}
        )
        assert response.status_code == 400
        assert "already has a login" in response.content.decode()
        assert client.get(reverse("admin:accounts_invitation_changelist")).status_code == 200
        page = client.get(reverse("admin:accounts_invitation_change", args=[invitation.pk]))
        assert page.status_code == 200
        client.logout()
        assert accept(client, path).status_code == 302
        assert User.objects.get(email="via.admin@acme.example").vendor == vendor_a


class TestInvitationRules:
    """The service refuses what the views never offer."""

    def test_only_the_vendors_admins_and_administrators_invite(
        self, alice, amos, bob, buyer, vendor_a, vendor_b
    ):
        for by, vendor in ((alice, vendor_b), (amos, vendor_a), (bob, vendor_a), (buyer, vendor_a)):
            with pytest.raises(DomainError) as refused:
                services.invitation_create(
                    vendor=vendor,
                    email="x@example.com",
                    role=Role.VENDOR_USER,
                    by=by,
                    site_url="http://testserver",
                )
            assert refused.value.code == "forbidden"
        assert not Invitation.objects.exists()

    def test_roles_are_vendor_roles_only(self, alice, vendor_a):
        with pytest.raises(DomainError) as refused:
            services.invitation_create(
                vendor=vendor_a,
                email="x@example.com",
                role=Role.BUYER,
                by=alice,
                site_url="http://testserver",
            )
        assert refused.value.field == "role"

    def test_inactive_vendor_gets_no_invitations(self, alice, vendor_a):
        vendor_a.active = False
        vendor_a.save()
        with pytest.raises(DomainError, match="inactive"):
            services.invitation_create(
                vendor=vendor_a,
                email="x@example.com",
                role=Role.VENDOR_USER,
                by=alice,
                site_url="http://testserver",
            )

    def test_a_failed_email_leaves_no_invitation(self, alice, vendor_a, monkeypatch):
        def broken(*args, **kwargs):
            raise ConnectionRefusedError("no SMTP server")

        monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
        with pytest.raises(DomainError, match="could not be sent"):
            services.invitation_create(
                vendor=vendor_a,
                email="x@example.com",
                role=Role.VENDOR_USER,
                by=alice,
                site_url="http://testserver",
            )
        assert not Invitation.objects.exists()


# ---------------------------------------------------------------------------------------
# The team page: vendor admins only, own vendor only
# ---------------------------------------------------------------------------------------


class TestTeamPage:
    def test_the_team_link_is_shown_to_vendor_admins_only(self, client, alice, amos):
        link = f'href="{TEAM}"'
        client.force_login(alice)
        assert link in client.get("/portal/").content.decode()
        client.force_login(amos)
        assert link not in client.get("/portal/").content.decode()

    def test_lists_own_vendors_logins_only(self, client, alice, amos, bob):
        client.force_login(alice)
        response = client.get(TEAM)
        assert response.status_code == 200
        body = response.content.decode()
        assert "amos@acme.example" in body and "alice@acme.example" in body
        assert "bob@bolt.example" not in body
        assert f"{TEAM}{amos.public_id}/deactivate" in body
        assert f"{TEAM}{alice.public_id}/deactivate" not in body  # never for themselves
        assert "never" in body  # amos has not logged in yet

    def test_queries_do_not_grow_with_the_team(self, client, alice, vendor_a):
        client.force_login(alice)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(TEAM).status_code == 200
            return len(queries)

        before = count()
        for n in range(5):
            make_user(email=f"extra{n}@acme.example", role=Role.VENDOR_USER, vendor=vendor_a)
            services.invitation_create(
                vendor=vendor_a,
                email=f"invited{n}@acme.example",
                role=Role.VENDOR_USER,
                by=alice,
                site_url="http://testserver",
            )
        assert count() == before

    def test_deactivate_and_reactivate_a_colleague(self, client, alice, amos):
        client.force_login(alice)
        response = client.post(f"{TEAM}{amos.public_id}/deactivate")
        assert response.status_code == 302
        amos.refresh_from_db()
        assert not amos.is_active
        assert f"{TEAM}{amos.public_id}/reactivate" in client.get(TEAM).content.decode()
        client.post(f"{TEAM}{amos.public_id}/reactivate")
        amos.refresh_from_db()
        assert amos.is_active

    def test_not_for_themselves(self, client, alice):
        client.force_login(alice)
        response = client.post(f"{TEAM}{alice.public_id}/deactivate", follow=True)
        assert "You cannot deactivate your own login." in response.content.decode()
        alice.refresh_from_db()
        assert alice.is_active

    def test_another_vendors_login_is_404(self, client, alice, bob, vendor_b):
        client.force_login(alice)
        for action in ("deactivate", "reactivate"):
            assert client.post(f"{TEAM}{bob.public_id}/{action}").status_code == 404
        bob.refresh_from_db()
        assert bob.is_active
        # A missing id answers exactly the same.
        missing = "00000000-0000-4000-8000-000000000000"
        assert client.post(f"{TEAM}{missing}/deactivate").status_code == 404
        # Nor another vendor's invitation.
        bolt_admin = make_user(email="admin@bolt.example", role=Role.VENDOR_ADMIN, vendor=vendor_b)
        theirs = services.invitation_create(
            vendor=vendor_b,
            email="new@bolt.example",
            role=Role.VENDOR_USER,
            by=bolt_admin,
            site_url="http://testserver",
        )
        assert "new@bolt.example" not in client.get(TEAM).content.decode()
        assert client.post(f"{TEAM}invitations/{theirs.public_id}/revoke").status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == InvitationStatus.PENDING

    def test_a_vendor_user_who_is_not_admin_gets_404_everywhere(self, client, alice, amos):
        client.force_login(amos)
        assert client.get(TEAM).status_code == 404
        assert invite(client, "x@acme.example").status_code == 404
        assert client.post(f"{TEAM}{alice.public_id}/deactivate").status_code == 404
        alice.refresh_from_db()
        assert alice.is_active
        assert not Invitation.objects.exists()

    def test_buyers_get_404_and_anonymous_is_sent_to_log_in(self, client, buyer, amos):
        client.force_login(buyer)
        assert client.get(TEAM).status_code == 404
        assert client.post(f"{TEAM}{amos.public_id}/deactivate").status_code == 404
        client.logout()
        response = client.get(TEAM)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_get_on_an_action_is_refused(self, client, alice, amos):
        client.force_login(alice)
        assert client.get(f"{TEAM}{amos.public_id}/deactivate").status_code == 405
        amos.refresh_from_db()
        assert amos.is_active


# ---------------------------------------------------------------------------------------
# Deactivation ends sessions; password reset
# ---------------------------------------------------------------------------------------


def log_in(client, email, password=TEST_PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


class TestDeactivation:
    def test_an_open_session_ends_at_the_next_request(self, client, alice, amos):
        assert log_in(client, amos.email).status_code == 302  # through allauth's backend
        assert client.get("/portal/").status_code == 200
        services.user_deactivate(user=amos, by=alice)
        response = client.get("/portal/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        assert not response.wsgi_request.user.is_authenticated

    def test_a_forced_session_ends_too(self, client, alice, amos):
        client.force_login(amos)  # Django's ModelBackend
        assert client.get("/portal/orders/").status_code == 200
        services.user_deactivate(user=amos, by=alice)
        assert client.get("/portal/orders/").status_code == 302

    def test_a_deactivated_login_cannot_log_in_until_reactivated(self, client, alice, amos):
        services.user_deactivate(user=amos, by=alice)
        response = log_in(client, amos.email)
        assert client.get("/portal/").status_code == 302
        assert "/accounts/inactive/" in response.get("Location", "")
        page = client.get("/accounts/inactive/").content.decode()
        assert "This login is deactivated" in page
        services.user_reactivate(user=amos, by=alice)
        assert log_in(client, amos.email).status_code == 302
        assert client.get("/portal/").status_code == 200

    def test_rules(self, alice, amos, bob, buyer, superuser):
        with pytest.raises(DomainError, match="own login"):
            services.user_deactivate(user=alice, by=alice)
        with pytest.raises(DomainError) as refused:
            services.user_deactivate(user=bob, by=alice)
        assert refused.value.code == "forbidden"
        with pytest.raises(DomainError):
            services.user_deactivate(user=alice, by=amos)  # not an admin
        with pytest.raises(DomainError):
            services.user_deactivate(user=buyer, by=alice)  # vendors never touch buyers
        with pytest.raises(DomainError):
            services.user_deactivate(user=amos, by=buyer)  # a buyer without staff rights
        services.user_deactivate(user=bob, by=superuser)  # an administrator may
        with pytest.raises(DomainError, match="already deactivated"):
            services.user_deactivate(user=bob, by=superuser)
        with pytest.raises(DomainError, match="already active"):
            services.user_reactivate(user=amos, by=alice)

    def test_back_office_actions_go_through_the_services(self, client, superuser, amos, bob):
        client.force_login(superuser)
        changelist = reverse("admin:accounts_user_changelist")
        response = client.post(
            changelist,
            {"action": "deactivate_logins", "_selected_action": [amos.pk, bob.pk, superuser.pk]},
            follow=True,
        )
        assert response.status_code == 200
        assert "You cannot deactivate your own login." in response.content.decode()
        assert set(User.objects.filter(is_active=False).values_list("email", flat=True)) == {
            amos.email,
            bob.email,
        }


class TestPasswordReset:
    def test_allauth_sends_a_reset_link_to_a_known_address(self, client, amos):
        response = client.post(reverse("account_reset_password"), {"email": amos.email})
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        message = mail.outbox[0]
        assert message.to == [amos.email]
        match = re.search(
            r"http://testserver(/accounts/password/reset/key/\S+/)", str(message.body)
        )
        assert match, message.body
        # The link opens the set-password form (allauth redirects to drop the key from
        # the URL first).
        page = client.get(match[1], follow=True)
        assert page.status_code == 200
        assert 'name="password1"' in page.content.decode()
