"""Run schemathesis against the API on a live server: `make api-fuzz` (and `.ci/run`).

Sets up a throwaway database with the demo data (SQLite in a temporary directory), makes a
vendor token and an integration token with the `token` command, serves the site with
`vendorportal serve` (the real ASGI server), and runs schemathesis once per token against
`/api/v1/openapi.json`: generated valid and invalid input for every operation and stateful
sequences of them, with every check schemathesis has (no server error; status code,
content type, headers and body as documented; schema-violating requests refused and valid
ones accepted). Exits non-zero on any failure. Not collected by pytest.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Every check schemathesis has: server errors; conformance of status, content type, headers
# and body; schema-violating input refused; schema-valid input accepted (with 400 expected
# as the services' answer to a rule no schema can state: tests/schemathesis.toml); auth
# enforced; methods.
CHECKS = "all"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vendorportal(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(  # noqa: S603 - our own command
        [str(BIN / "vendorportal"), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"vendorportal {' '.join(args)} failed")
    return result.stdout


def main() -> int:
    examples = os.environ.get("API_FUZZ_EXAMPLES", "50")
    tmp = Path(tempfile.mkdtemp(prefix="vp-api-fuzz-"))
    env = {
        **os.environ,
        "VENDORPORTAL_VAR_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp / 'fuzz.sqlite3'}",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        # The fuzzer is not what the limits are for: it sends thousands of requests, and
        # hundreds without a token or with a wrong one (checking that each is refused 401).
        "API_RATE_LIMIT": "1000000/min",
        "API_AUTH_FAILURE_LIMIT": "1000000",
    }
    port = free_port()
    server = None
    try:
        vendorportal("migrate", "--no-input", "-v", "0", env=env)
        vendorportal("demo", env=env)
        tokens = {
            "vendor token (ACME)": vendorportal(
                "token", "create", "fuzz", "--vendor", "ACME", env=env
            ).strip(),
            "integration token": vendorportal(
                "token", "create", "fuzz", "--integration", env=env
            ).strip(),
        }
        log = (tmp / "server.log").open("wb")
        server = subprocess.Popen(  # noqa: S603 - our own command
            [str(BIN / "vendorportal"), "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not come up")
        failures = []
        for label, secret in tokens.items():
            print(f"\n=== schemathesis, {label}: {examples} examples per operation ===", flush=True)
            status = subprocess.run(  # noqa: S603 - our own tools
                [
                    str(BIN / "schemathesis"),
                    "--config-file",
                    str(ROOT / "tests" / "schemathesis.toml"),
                    "run",
                    f"{base}/api/v1/openapi.json",
                    "--header",
                    f"Authorization: Bearer {secret}",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    examples,
                    "--seed",
                    "2026",
                    "--workers",
                    "1",
                    "--phases",
                    "examples,coverage,fuzzing,stateful",
                    "--mode",
                    "all",  # positive and negative
                    "--report-dir",
                    str(tmp / "report"),
                ],
                env=env,
                check=False,
            ).returncode
            if status != 0:
                failures.append(label)
        server_errors = (tmp / "server.log").read_text(errors="replace").count("Traceback")
        print(f"\nserver log: {server_errors} traceback(s)")
        if failures or server_errors:
            print(f"API fuzzing FAILED for: {', '.join(failures) or 'server log'}", file=sys.stderr)
            if server_errors:
                print((tmp / "server.log").read_text(errors="replace")[-5000:], file=sys.stderr)
            return 1
        print("API fuzzing passed: 0 server errors, 0 schema violations.")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
