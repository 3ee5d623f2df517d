"""Attachment uploads: how fast a file goes through the real upload view (multipart
parsing, the type check on its content, SHA-256, the storage write, the row, audit and
event), median MB/s of --runs uploads of --mb MB each.

Setup: a fresh SQLite database and attachment storage in a temporary directory
(DATABASE_URL and VENDORPORTAL_VAR_DIR, as the other benches set them), migrated; one
vendor, a buyer and an issued order made through the services. Timed, in this process:
Django's test Client posting a PDF of --mb MB to /buying/orders/<PO>/attachments (each
upload a new name, so no versions), from the request to the redirect.

This prints figures; it is not a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="uploads to take the median of")
    parser.add_argument("--mb", type=int, default=5, help="size of each file in MB")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vp-bench-upload-"))
    (tmp / "static").mkdir()  # whitenoise expects the collected-static folder
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="vendorportal.settings",
            DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
            VENDORPORTAL_VAR_DIR=str(tmp),
            DEBUG="false",
            VENDORPORTAL_HTTPS="false",
            MFA_ENFORCED="false",
            ALLOWED_HOSTS="testserver",
            SECRET_KEY=os.environ.get("SECRET_KEY", "bench-" + "x" * 40),
            LOG_LEVEL="WARNING",
        )
        run(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django_scopes import scopes_disabled

    from tests.factories import make_order
    from vendorportal.accounts.models import Role, User
    from vendorportal.collaboration.models import Attachment
    from vendorportal.purchasing.models import Vendor

    setup_test_environment()
    call_command("migrate", verbosity=0)
    with scopes_disabled():
        buyer = User.objects.create_user(
            email="buyer@bench.example", role=Role.BUYER, first_name="Bench"
        )
        vendor = Vendor.objects.create(code="V0001", name="Bench Supplier")
        order = make_order(vendor=vendor, by=buyer, lines=[("100", "2.50")])
    client = Client()
    client.force_login(buyer)
    size = args.mb * 1024 * 1024
    body = b"%PDF-1.7\n" + os.urandom(size - 9)
    url = f"/buying/orders/{order.number}/attachments"
    seconds = []
    for n in range(args.runs):
        upload = SimpleUploadedFile(f"drawing-{n}.pdf", body, content_type="application/pdf")
        started = time.perf_counter()
        answer = client.post(url, {"file": upload, "kind": "drawing"})
        seconds.append(time.perf_counter() - started)
        if answer.status_code != 302:
            raise SystemExit(f"upload {n} answered {answer.status_code}")
    with scopes_disabled():
        stored = Attachment.objects.count()
    if stored != args.runs:
        raise SystemExit(f"{stored} attachments stored, expected {args.runs}")
    median = statistics.median(seconds)
    print(f"attachment upload, {args.runs} x {args.mb} MB through the web view (SQLite)")
    print(
        f"  median {median * 1000:.0f} ms per file = {args.mb / median:.0f} MB/s; "
        f"fastest {args.mb / min(seconds):.0f} MB/s, slowest {args.mb / max(seconds):.0f} MB/s"
    )


if __name__ == "__main__":
    main()
