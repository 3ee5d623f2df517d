"""`make audit`: bandit on the product code and pip-audit on the locked dependencies.

- bandit (configured in pyproject.toml) runs on vendorportal/; the counts by severity are
  printed, and any high-severity finding fails.
- pip-audit checks requirements/lock.txt (the exact pinned versions, without installing
  anything) against PyPI's vulnerability data, then OSV's if PyPI's gave nothing. A known
  vulnerability that has a fixed version fails; one without a fix is printed. When neither
  service can be reached, or they know none of the packages, it says plainly that the
  dependencies were NOT audited and does not fail: an unreachable service is not a
  finding, but it is never reported as a clean audit either.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCK = ROOT / "requirements" / "lock.txt"
# Signs in pip-audit's output that the vulnerability service could not be asked.
UNREACHABLE = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "ServiceError",
    "Max retries exceeded",
    "Failed to resolve",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Connection refused",
    "Network is unreachable",
)


def _json(report: Path) -> list[str]:
    return ["-f", "json", "-o", str(report)]


def bandit() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "bandit.json"
        subprocess.run(  # noqa: S603 - fixed arguments
            [BIN / "bandit", "-c", "pyproject.toml", "-r", "vendorportal", "-q", *_json(report)],
            cwd=ROOT,
            check=False,
        )
        if not report.exists():
            print("bandit: FAILED to run (no report written)")
            return False
        data = json.loads(report.read_text())
    results = data["results"]
    if data.get("errors"):
        print(f"bandit: {len(data['errors'])} file(s) could not be scanned: {data['errors']}")
        return False
    counts = dict.fromkeys(("HIGH", "MEDIUM", "LOW"), 0)
    for result in results:
        counts[result["issue_severity"]] = counts.get(result["issue_severity"], 0) + 1
    for result in sorted(
        results, key=lambda r: ("HIGH", "MEDIUM", "LOW").index(r["issue_severity"])
    ):
        print(
            f"  {result['issue_severity']:<6} {result['test_id']} "
            f"{result['filename']}:{result['line_number']} {result['issue_text']}"
        )
    lines = data["metrics"]["_totals"]["loc"]
    print(
        f"bandit: high={counts['HIGH']} medium={counts['MEDIUM']} low={counts['LOW']} "
        f"({lines} lines of vendorportal/ scanned)"
    )
    if counts["HIGH"]:
        print("bandit: FAILED, high-severity findings above")
        return False
    return True


def _pip_audit(service: str) -> tuple[dict | None, str]:
    """pip-audit's JSON report with one service, or None and why it gave none."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "pip-audit.json"
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [
                *(BIN / "pip-audit", "-r", str(LOCK), "--require-hashes", "--disable-pip"),
                *("--vulnerability-service", service, "--progress-spinner", "off"),
                *("--timeout", "10", *_json(report)),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        output = done.stdout + done.stderr
        if report.exists() and report.read_text().strip():
            return json.loads(report.read_text()), output
        return None, output


def _reason(output: str) -> str:
    for sign in UNREACHABLE:
        if sign in output:
            last = [line for line in output.splitlines() if sign in line][-1].strip()
            return last[:240]
    return ""


def pip_audit() -> bool:
    reasons = []
    for service in ("pypi", "osv"):
        report, output = _pip_audit(service)
        if report is None:
            reason = _reason(output)
            if not reason:
                print(f"pip-audit ({service}) FAILED:\n{output[-3000:]}")
                return False
            reasons.append(f"{service}: {reason}")
            continue
        dependencies = report["dependencies"]
        audited = [d for d in dependencies if "skip_reason" not in d]
        skipped = [d for d in dependencies if "skip_reason" in d]
        if not audited:
            reasons.append(
                f"{service}: no data for any of the {len(skipped)} packages "
                f"(e.g. {skipped[0]['skip_reason'] if skipped else 'empty report'})"
            )
            continue
        vulnerable = [(d, v) for d in audited for v in d.get("vulns", [])]
        fixable = [(d, v) for d, v in vulnerable if v.get("fix_versions")]
        for dependency, vulnerability in vulnerable:
            fixes = ", ".join(vulnerability.get("fix_versions") or []) or "no fix yet"
            print(
                f"  {dependency['name']} {dependency['version']}: {vulnerability['id']} "
                f"(fixed in: {fixes})"
            )
        print(
            f"pip-audit ({service}): {len(audited)} packages audited, {len(skipped)} not "
            f"audited, {len(vulnerable)} known vulnerabilities ({len(fixable)} with a fix)"
        )
        for dependency in skipped:
            print(f"  not audited: {dependency['name']}: {dependency['skip_reason']}")
        if fixable:
            print("pip-audit: FAILED, upgrade the packages above to a fixed version")
            return False
        return True
    print(
        "pip-audit: vulnerability data unreachable ("
        + "; ".join(reasons)
        + ") — dependencies NOT audited"
    )
    return True


def main() -> int:
    ok = bandit()
    ok = pip_audit() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
