"""Client conformance: Microsoft's Python SDK against the emulator, over TLS.

A user's script, pointed at the emulator by authority, base URL and CA bundle only, and the
answers real ARM gives (shared/reference arm-aci.md: section 3 operations and codes, 5 states,
6 long-running operations, 7 errors, 8 sign-in). Run by tests/tests/azure_sdk.rs with:

    EMULATOR_URL          the emulator's base URL (first stdout line), https://127.0.0.1:PORT
    EMULATOR_CREDENTIALS  the JSON object of its second stdout line
    REQUESTS_CA_BUNDLE    its CA (ca_cert), so requests (azure-core, MSAL) trust it

and an emulator started with --page-size 2 --provision-delay 1 --delete-delay 1.
Prints one line per check; exits non-zero at the first failure.
"""

import datetime
import json
import os
import re
import sys
import time

from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential
from azure.mgmt.containerinstance import ContainerInstanceManagementClient
from azure.mgmt.containerinstance.models import (
    Container,
    ContainerGroup,
    EnvironmentVariable,
    ResourceRequests,
    ResourceRequirements,
)

BASE = os.environ["EMULATOR_URL"]
CREDS = json.loads(os.environ["EMULATOR_CREDENTIALS"])
SCOPE = "https://management.azure.com/.default"
RG = "conformance"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")

# Every response the SDK received: (method, url, status, lower-cased headers, body text).
SEEN = []
CHECKS = []


def record(response):
    http = response.http_response
    SEEN.append(
        (
            http.request.method,
            http.request.url,
            http.status_code,
            {k.lower(): v for k, v in http.headers.items()},
            http.text() if http.status_code != 204 else "",
        )
    )


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name}: {detail}", flush=True)
        sys.exit(1)
    CHECKS.append(name)
    print(f"ok   {name}", flush=True)


def expect_error(name, kind, call):
    try:
        call()
    except kind as e:
        return e
    check(name, False, f"no {kind.__name__} raised")


def job(command, restart_policy="Never"):
    return ContainerGroup(
        location="eastus",
        os_type="Linux",
        restart_policy=restart_policy,
        tags={"suite": "conformance"},
        containers=[
            Container(
                name="main",
                image="alpine:3",
                command=command,
                resources=ResourceRequirements(
                    requests=ResourceRequests(cpu=1.0, memory_in_gb=1.5)
                ),
                environment_variables=[
                    EnvironmentVariable(name="GREETING", value="conformance"),
                    EnvironmentVariable(name="TOKEN", secure_value="never-echoed"),
                ],
            )
        ],
    )


SERVICE = ["/bin/sh", "-c", "echo hello from $GREETING; echo second line; exec sleep 300"]


def sign_in():
    cred = ClientSecretCredential(
        CREDS["tenant_id"],
        CREDS["client_id"],
        CREDS["client_secret"],
        authority=BASE,
        disable_instance_discovery=True,
    )
    token = cred.get_token(SCOPE)
    check("sign-in: a bearer token", len(token.token) > 100, token.token[:10])
    check("sign-in: expires in about an hour", token.expires_on > time.time() + 3000)
    wrong = ClientSecretCredential(
        CREDS["tenant_id"],
        CREDS["client_id"],
        "not-the-secret",
        authority=BASE,
        disable_instance_discovery=True,
    )
    e = expect_error("sign-in: wrong secret", ClientAuthenticationError, lambda: wrong.get_token(SCOPE))
    check("sign-in: wrong secret is AADSTS7000215", "AADSTS7000215" in str(e), str(e)[:300])
    check("sign-in: the secret is not echoed", "not-the-secret" not in str(e))
    return cred


def create_and_wait(client):
    poller = client.container_groups.begin_create_or_update(RG, "conf-job", job(SERVICE))
    put = [s for s in SEEN if s[0] == "PUT"][-1]
    check("create: 201 Created", put[2] == 201, put[2])
    body = json.loads(put[4])
    check("create: provisioningState Pending", body["properties"]["provisioningState"] == "Pending", body)
    check(
        "create: instanceView {events: [], state: Pending}",
        body["properties"]["instanceView"] == {"events": [], "state": "Pending"},
        body["properties"].get("instanceView"),
    )
    op_url = put[3].get("azure-asyncoperation", "")
    check(
        "create: Azure-AsyncOperation under the emulator's https base",
        re.match(
            re.escape(BASE)
            + r"/subscriptions/[^/]+/providers/Microsoft.ContainerInstance/locations/eastus/operations/[0-9a-f-]+\?api-version=2018-06-01$",
            op_url,
        ),
        op_url,
    )
    group = poller.result()
    check("create: the poller ends Succeeded", poller.status() == "Succeeded", poller.status())
    check("create: result provisioning_state Succeeded", group.provisioning_state == "Succeeded")
    statuses = [json.loads(s[4])["status"] for s in SEEN if s[1] == op_url]
    check(
        "create: the operation walks Pending/Creating to Succeeded",
        statuses[-1] == "Succeeded" and set(statuses) <= {"Pending", "Creating", "Succeeded"},
        statuses,
    )
    final = json.loads([s for s in SEEN if s[1] == op_url][-1][4])
    check(
        "create: the operation status body as recorded (no endTime, no name)",
        set(final) == {"id", "status", "startTime", "properties"}
        and final["id"].endswith("/containerGroups/conf-job")
        and isinstance(final["properties"]["events"], list),
        final,
    )
    return op_url


def get_and_logs(client):
    g = client.container_groups.get(RG, "conf-job")
    c = g.containers[0]
    check("get: provisioning Succeeded", g.provisioning_state == "Succeeded")
    check("get: group Running", g.instance_view.state == "Running", g.instance_view.state)
    check("get: container Running", c.instance_view.current_state.state == "Running")
    check("get: restartCount 0", c.instance_view.restart_count == 0)
    names = {e.name for e in c.instance_view.events}
    check("get: Pulling/Pulled/Created/Started events", {"Pulling", "Pulled", "Created", "Started"} <= names, names)
    secure = [v for v in c.environment_variables if v.name == "TOKEN"][0]
    check("get: secureValue never returned", secure.secure_value is None)
    deadline = time.time() + 30
    logs = ""
    while "second line" not in logs and time.time() < deadline:
        logs = client.containers.list_logs(RG, "conf-job", "main").content
        time.sleep(0.1)
    check("logs: content", logs == "hello from conformance\nsecond line\n", repr(logs))
    tail = client.containers.list_logs(RG, "conf-job", "main", tail=1).content
    check("logs: tail=1", tail == "second line\n", repr(tail))
    stamped = client.containers.list_logs(RG, "conf-job", "main", timestamps=True).content
    lines = stamped.splitlines()
    check("logs: timestamps=true", len(lines) == 2 and all(STAMP.match(line) for line in lines), repr(stamped))


def list_with_paging(client):
    for name in ["conf-a", "conf-b", "conf-c"]:
        client.container_groups.begin_create_or_update(RG, name, job(["true"])).result()
    client.container_groups.begin_create_or_update("conformance-other", "conf-d", job(["true"])).result()
    before = len(SEEN)
    by_rg = list(client.container_groups.list_by_resource_group(RG))
    pages = [s for s in SEEN[before:] if s[0] == "GET" and "/containerGroups" in s[1]]
    check(
        "list by resource group: every group over 2-item pages",
        sorted(g.name for g in by_rg) == ["conf-a", "conf-b", "conf-c", "conf-job"] and len(pages) == 2,
        ([g.name for g in by_rg], len(pages)),
    )
    links = [json.loads(p[4]).get("nextLink") for p in pages]
    check(
        "list: nextLink under the emulator's https base, absent on the last page",
        links[0].startswith(BASE + "/subscriptions/") and links[-1] is None,
        links,
    )
    everything = list(client.container_groups.list())
    check(
        "list: the subscription's groups",
        {g.name for g in everything} >= {"conf-a", "conf-b", "conf-c", "conf-d", "conf-job"},
        [g.name for g in everything],
    )
    check(
        "list: no instance views",
        all(g.instance_view is None and g.containers[0].instance_view is None for g in everything),
    )


def wait_state(client, name, state):
    deadline = time.time() + 30
    while time.time() < deadline:
        g = client.container_groups.get(RG, name)
        if g.instance_view.state == state:
            return g
        time.sleep(0.1)
    check(f"{name} reaches {state}", False, g.instance_view.state)


def stop_start_restart(client):
    client.container_groups.stop(RG, "conf-job")
    check("stop: 204", SEEN[-1][2] == 204, SEEN[-1][2])
    g = client.container_groups.get(RG, "conf-job")
    check("stop: group Stopped", g.instance_view.state == "Stopped", g.instance_view.state)
    check("stop: provisioningState keeps Succeeded", g.provisioning_state == "Succeeded")
    poller = client.container_groups.begin_start(RG, "conf-job")
    started = [s for s in SEEN if s[1].split("?")[0].endswith("/start")][-1]
    check("start: 202 with Azure-AsyncOperation", started[2] == 202 and "azure-asyncoperation" in started[3], started[2])
    poller.result()
    check("start: the poller ends Succeeded", poller.status() == "Succeeded", poller.status())
    wait_state(client, "conf-job", "Running")
    poller = client.container_groups.begin_restart(RG, "conf-job")
    restarted = [s for s in SEEN if s[1].split("?")[0].endswith("/restart")][-1]
    check("restart: 204", restarted[2] == 204, restarted[2])
    poller.result()
    g = wait_state(client, "conf-job", "Running")
    check("restart: container Running again", g.containers[0].instance_view.current_state.state == "Running")


def transitioning(client):
    client.container_groups.begin_create_or_update(RG, "conf-busy", job(SERVICE), polling=False)
    e = expect_error(
        "409 while provisioning",
        HttpResponseError,
        lambda: client.container_groups.stop(RG, "conf-busy"),
    )
    check("409: status", e.status_code == 409, e.status_code)
    check("409: ContainerGroupTransitioning", e.error.code == "ContainerGroupTransitioning", e.error.code)
    check(
        "409: message",
        e.error.message == "The container group 'conf-busy' is still transitioning, please retry later.",
        e.error.message,
    )


def not_found(client):
    e = expect_error("404", ResourceNotFoundError, lambda: client.container_groups.get(RG, "absent"))
    check("404: status", e.status_code == 404)
    check("404: ResourceNotFound", e.error.code == "ResourceNotFound", e.error.code)
    check(
        "404: message",
        e.error.message.startswith(
            f"The Resource 'Microsoft.ContainerInstance/containerGroups/absent' under resource group '{RG}' was not found."
        ),
        e.error.message,
    )


class BogusToken:
    """A credential whose token the emulator never issued."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("not-a-token", int(time.time()) + 3600)


def unauthorized():
    client = ContainerInstanceManagementClient(
        BogusToken(), CREDS["subscription_id"], base_url=BASE, raw_response_hook=record
    )
    e = expect_error("401", ClientAuthenticationError, lambda: client.container_groups.get(RG, "conf-job"))
    check("401: status", e.status_code == 401, e.status_code)
    check("401: InvalidAuthenticationToken", e.error.code == "InvalidAuthenticationToken", e.error.code)
    challenge = e.response.headers.get("WWW-Authenticate", "")
    check(
        "401: WWW-Authenticate names the emulator's https authority",
        challenge.startswith(f'Bearer authorization_uri="{BASE}/'),
        challenge,
    )


def delete_and_wait(client):
    poller = client.container_groups.begin_delete(RG, "conf-job")
    deleted = [s for s in SEEN if s[0] == "DELETE"][-1]
    check("delete: 202 Accepted", deleted[2] == 202, deleted[2])
    op_url = deleted[3].get("azure-asyncoperation", "")
    check(
        "delete: Azure-AsyncOperation under the resource group, as the recorded example",
        op_url.startswith(
            f"{BASE}/subscriptions/{CREDS['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/locations/eastus/operations/"
        ),
        op_url,
    )
    check("delete: Location under the emulator's base", deleted[3].get("location", "").startswith(BASE + "/"))
    g = client.container_groups.get(RG, "conf-job")
    check("delete: the group reads Deleting meanwhile", g.provisioning_state == "Deleting", g.provisioning_state)
    poller.result()
    check("delete: the poller ends Succeeded", poller.status() == "Succeeded", poller.status())
    expect_error("delete: then 404", ResourceNotFoundError, lambda: client.container_groups.get(RG, "conf-job"))
    client.container_groups.begin_delete(RG, "conf-job").result()
    check("delete: again is 204", [s for s in SEEN if s[0] == "DELETE"][-1][2] == 204)


def every_url_is_ours():
    urls = []
    for _, _, _, headers, body in SEEN:
        urls += [headers[h] for h in ("azure-asyncoperation", "location") if h in headers]
        if body.startswith("{") and '"nextLink"' in body:
            urls.append(json.loads(body)["nextLink"])
    check(
        "every URL handed out uses the https base the client used",
        urls and all(u.startswith(BASE + "/") for u in urls),
        [u for u in urls if not u.startswith(BASE + "/")],
    )


def main():
    started = datetime.datetime.now()
    cred = sign_in()
    client = ContainerInstanceManagementClient(
        cred, CREDS["subscription_id"], base_url=BASE, raw_response_hook=record
    )
    create_and_wait(client)
    get_and_logs(client)
    list_with_paging(client)
    stop_start_restart(client)
    transitioning(client)
    not_found(client)
    unauthorized()
    delete_and_wait(client)
    every_url_is_ours()
    seconds = (datetime.datetime.now() - started).total_seconds()
    print(json.dumps({"checks": len(CHECKS), "requests": len(SEEN), "seconds": round(seconds, 1)}))


if __name__ == "__main__":
    main()
