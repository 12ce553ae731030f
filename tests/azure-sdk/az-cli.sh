#!/usr/bin/env bash
# The Azure CLI against the emulator over TLS: register it as a cloud, sign in with its
# service principal, then `az container` create / show / logs / list / delete.
#
# Environment: AZ (the az executable), EMULATOR_URL, EMULATOR_CREDENTIALS (the JSON of the
# emulator's second stdout line), REQUESTS_CA_BUNDLE (its ca_cert), AZURE_CONFIG_DIR (an
# empty directory: az keeps its clouds and tokens there). Run by tests/tests/azure_sdk.rs
# with ACI_TEST_AZ_CLI=1; prints one line per check and exits non-zero at the first failure.
set -euo pipefail

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$EMULATOR_CREDENTIALS" "$1"; }
TENANT=$(field tenant_id)
CLIENT=$(field client_id)
SECRET=$(field client_secret)
SUB=$(field subscription_id)
RG=az-cli
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_ONLY_SHOW_ERRORS=true AZURE_CORE_NO_COLOR=true

fail() { echo "FAIL $*"; exit 1; }
ok() { echo "ok   $*"; }
# `q JSON EXPR`: a value of az's JSON output.
q() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))" "$1" "$2"; }

# The emulator is a cloud: ARM and the authority at its URL (endpoints discovered from
# /metadata/endpoints); MSAL must not ask login.microsoftonline.com about it.
"$AZ" cloud register -n AciEmulator --endpoint-resource-manager "$EMULATOR_URL" >/dev/null
"$AZ" cloud set -n AciEmulator >/dev/null
"$AZ" config set core.instance_discovery=false >/dev/null
ok "cloud registered from /metadata/endpoints"

account=$("$AZ" login --service-principal -u "$CLIENT" -p "$SECRET" --tenant "$TENANT" -o json)
[ "$(q "$account" 'd[0]["id"]')" = "$SUB" ] || fail "az login: $account"
ok "az login --service-principal"

created=$("$AZ" container create -g "$RG" -n az-hello --image alpine:3 --os-type Linux \
  --cpu 1 --memory 1.5 --restart-policy Never --location eastus \
  --command-line "/bin/sh -c 'echo hello from az; echo bye'" -o json)
[ "$(q "$created" 'd["provisioningState"]')" = "Succeeded" ] || fail "az container create: $created"
ok "az container create (waits on the operation)"

for _ in $(seq 1 100); do
  shown=$("$AZ" container show -g "$RG" -n az-hello -o json)
  [ "$(q "$shown" 'd["instanceView"]["state"]')" = "Succeeded" ] && break
  sleep 0.2
done
[ "$(q "$shown" 'd["containers"][0]["instanceView"]["currentState"]["exitCode"]')" = "0" ] \
  || fail "az container show: $shown"
ok "az container show: Succeeded, exit code 0"

logs=$("$AZ" container logs -g "$RG" -n az-hello)
[ "$logs" = $'hello from az\nbye' ] || fail "az container logs: $logs"
ok "az container logs"

listed=$("$AZ" container list -g "$RG" -o json)
[ "$(q "$listed" '[g["name"] for g in d]')" = "['az-hello']" ] || fail "az container list: $listed"
ok "az container list"

"$AZ" container delete -g "$RG" -n az-hello --yes -o none
gone=$("$AZ" container list -g "$RG" -o json)
[ "$(q "$gone" 'len(d)')" = "0" ] || fail "az container delete: still listed: $gone"
ok "az container delete (waits for the deletion)"
