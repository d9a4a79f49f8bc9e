"""`make conform`: serve the emulator on a scratch store and run `loginaudit conform` for every vendor.

This is also the worked example of using the suite in CI against a server you start yourself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from ..loopback import free_port, wait_until_up
from .run import conform, summary


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    scratch = Path(tempfile.mkdtemp(prefix="loginaudit-conform-"))
    env = {**os.environ, "LOGINAUDIT_DATABASE_URL": f"sqlite:///{scratch / 'conform.db'}"}
    server = subprocess.Popen([sys.executable, "-m", "loginaudit", "serve", "--port", str(port), "--no-access-log",
                               "--demo-events", "1000"], env=env, stdout=subprocess.DEVNULL)
    failed = False
    try:
        wait_until_up(f"{base}/_loginaudit/health", server)
        tokens = {(t["vendor"], t["kind"]): t["secret"] for t in httpx.get(f"{base}/_loginaudit/tokens").json()}
        jwt = httpx.post(f"{base}/api/v3/iam/auth/api/login",
                         json={"key": tokens["ingedata", "admin_key"]}).json()["meta"]["token"]
        user = httpx.get(f"{base}/_loginaudit/people/1").json()["uuid"]
        runs = [
            ("unleash", "unleash.yaml", {"apiKey": tokens["unleash", "admin"]}, {}),
            ("canvas", "canvas.yaml", {"bearerAuth": tokens["canvas", "site_admin"]}, {}),
            ("qradar", "qradar.yaml", {"secToken": tokens["qradar", "sec_admin"]}, {}),
            ("ingedata", "ingedata.yaml", {"bearerAuth": jwt}, {}),
            ("ssojet", "ssojet-current.yaml", {"BearerAuth": tokens["ssojet", "api_key"]}, {"userid": user}),
            ("ssojet", "ssojet-legacy.yaml", {"BearerAuth": tokens["ssojet", "api_key"]}, {"userid": user}),
            ("okta", "okta.yaml", {"apiToken": "SSWS " + tokens["okta", "api_token"]}, {}),
            ("entra", "entra.yaml", {"bearerAuth": "Bearer " + tokens["entra", "app_auditlog"]}, {}),
            ("entra", "entra-beta.yaml", {"bearerAuth": "Bearer " + tokens["entra", "app_auditlog"]}, {}),
        ]
        for vendor, spec, auth, params in runs:
            outcomes = conform(vendor, base, spec_name=spec, auth=auth, params=params,
                               junit_path=Path("reports") / f"conform-{spec.removesuffix('.yaml')}.xml")
            print(f"== {vendor} ({spec})\n{summary(outcomes)}", flush=True)
            failed |= any(o.ok is False for o in outcomes)
    finally:
        server.terminate()
        server.wait(timeout=10)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
