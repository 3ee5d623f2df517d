"""The `vendorportal` command: Django's management commands plus ours (serve, demo, ...)."""

from __future__ import annotations

import os
import sys

SERVERS = ("serve", "runserver", "db_worker")


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorportal.settings")
    import django
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in SERVERS:
        execute_from_command_line(["vendorportal", *args])
        return
    django.setup()
    from vendorportal.audit.context import command

    # Writes made by a command are audited as channel "command" (a server's requests set
    # their own origin).
    with command():
        execute_from_command_line(["vendorportal", *args])


if __name__ == "__main__":
    main()
