// The Node host's policy, masking and connection rules against the tables of
// aci-host's own unit tests (host/src/policy.rs, mask.rs, connections/).
// Run with `npm test` (node --test); the workspace's conformance test runs it too.

import assert from "node:assert/strict";
import { test } from "node:test";
import { fromUri, fromUriOrJson, redacted } from "../src/connections.mjs";
import { Masker } from "../src/mask.mjs";
import { lineOutput } from "../src/output.mjs";
import { denyReason, isLoopback, originFromParts, originText, parseOrigin } from "../src/policy.mjs";
import { hookCall } from "../src/task.mjs";

const allowedSet = (rules) => new Set(rules.map((r) => originText(parseOrigin(r))));
const check = (allowed, scheme, authority, credentialHeader = false, mayHaveBody = false) =>
  denyReason(allowed, { scheme, authority, credentialHeader, mayHaveBody });

test("the url table of policy.rs", () => {
  const p = allowedSet(["api.example.com", "https://login.example.com/", "http://127.0.0.1:8080", "[::1]:9000", "http://10.1.2.3"]);
  for (const [s, a, c] of [
    ["https", "api.example.com", false], ["https", "api.example.com:443", true], ["https", "API.Example.COM", true],
    ["https", "api.example.com.", true], ["HTTPS", "login.example.com", true], ["http", "127.0.0.1:8080", true],
    ["https", "[::1]:9000", true], ["http", "10.1.2.3", false],
  ]) assert.equal(check(p, s, a, c), null, `${s}://${a}`);
  for (const [s, a] of [
    ["https", "api.example.com:8443"], ["http", "api.example.com"], ["https", "evil.com"],
    ["https", "api.example.com.evil.com"], ["https", "evilapi.example.com"], ["https", "api.example.com@evil.com"],
    ["https", "evil.com@api.example.com"], ["http", "127.0.0.1:8081"], ["http", "127.0.0.2:8080"],
    ["https", "[::1]:9001"], ["https", "::1:9000"], ["ftp", "api.example.com"], ["https", ""],
    ["https", "api.example.com:0"], ["https", "api.example.com:99999"], ["https", "2130706433"],
    ["http", "[::ffff:127.0.0.1]:8080"],
  ]) assert.notEqual(check(p, s, a), null, `${s}://${a} should be denied`);
});

test("credentials and bodies go over plain http only to loopback", () => {
  for (const host of ["127.attacker.example", "localhost.evil", "[::ffff:10.0.0.1]", "[::ffff:127.0.0.1]", "169.254.169.254", "example.com"]) {
    const p = allowedSet([`http://${host}`]);
    assert.match(check(p, "http", host, true), /credentials may only be sent over https/, host);
    assert.match(check(p, "http", host, false, true), /request body may hold a secret/, host);
    assert.equal(check(p, "http", host), null, host);
    assert.equal(check(allowedSet([host]), "https", host, true, true), null, host);
  }
  const p = allowedSet(["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080", "http://127.9.9.9:8080"]);
  for (const a of ["127.0.0.1:8080", "localhost:8080", "LOCALHOST.:8080", "[::1]:8080", "127.9.9.9:8080"]) {
    assert.equal(check(p, "http", a, true, true), null, a);
  }
  assert.match(check(new Set(), "http", "example.com", true), /credentials/);
});

test("loopback is decided by parsing", () => {
  for (const h of ["localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.9.9.9", "127.0.0.1.", "::1", "[::1]"]) assert.ok(isLoopback(h), h);
  for (const h of ["localhost.evil.com", "localhost.evil", "127.attacker.example", "128.0.0.1", "10.0.0.1", "example.com", "::2", "::ffff:127.0.0.1", "[::ffff:10.0.0.1]", "2130706433"]) {
    assert.ok(!isLoopback(h), h);
  }
});

test("origins parse and print as aci-host's grants write them", () => {
  assert.equal(originText(originFromParts({ scheme: "HTTPS", host: "Login.Example.", port: 443 })), "https://login.example:443");
  assert.equal(originText(originFromParts({ scheme: "http", host: "::1", port: 8080 })), "http://[::1]:8080");
  assert.equal(originText(parseOrigin("http://[::1]:80/x")), "http://[::1]:80");
  assert.equal(originText(parseOrigin("Example.COM:8443")), "https://example.com:8443");
  for (const [scheme, host, port] of [["ftp", "h", 21], ["https", "", 443], ["https", "h", 0], ["https", "*.example.com", 443], ["https", "a@b", 443], ["https", "a/b", 443], ["https", "h:1", 443]]) {
    assert.throws(() => originFromParts({ scheme, host, port }), `${scheme} ${host} ${port}`);
  }
  for (const bad of ["*", "*.example.com", "ftp://x", "user@host", "host:notaport", ""]) assert.throws(() => parseOrigin(bad), bad);
});

test("masking: plain, percent-encoded, JSON-escaped, base64 and line by line; short secrets ignored", () => {
  const m = new Masker();
  m.add("abc");
  assert.equal(m.mask("abc"), "abc");
  m.add("p@ss/w:rd%\"x");
  assert.equal(m.mask("pw=p@ss/w:rd%\"x"), "pw=***");
  assert.equal(m.mask("uri=azure://id:p%40ss%2Fw%3Ard%25%22x@"), "uri=azure://id:***@");
  assert.equal(m.mask('{"password":"p@ss/w:rd%\\"x"}'), '{"password":"***"}');
  assert.equal(m.mask(`Basic ${Buffer.from("p@ss/w:rd%\"x").toString("base64")}`), "Basic ***");
  m.add("-----BEGIN KEY-----\nline-one-secret\n-----END KEY-----");
  assert.equal(m.mask("got line-one-secret"), "got ***");
  m.add("secret");
  m.add("secret-longer");
  assert.equal(m.mask("a secret-longer b"), "a *** b");
  assert.deepEqual(m.maskJson({ "secret-longer": ["secret", 1] }), { "***": ["***", 1] });
});

test("connections: Airflow URIs and the JSON form", () => {
  const c = fromUri("c", "azure://CLIENT_ID:SECRET@?tenantId=tid&subscriptionId=sid");
  assert.deepEqual([c.connType, c.login, c.password, c.host, c.schema, c.port], ["azure", "CLIENT_ID", "SECRET", null, null, null]);
  assert.deepEqual(c.extra, { tenantId: "tid", subscriptionId: "sid" });
  const p = fromUri("c", "postgres://us%40er:p%40ss%2Fw%3Ard%25@db.example.com:5432/my%2Fdb");
  assert.deepEqual([p.login, p.password, p.host, p.port, p.schema], ["us@er", "p@ss/w:rd%", "db.example.com", 5432, "my/db"]);
  const q = fromUri("c", "x://u+1:a+b@h?q=a+b&r=%2B");
  assert.deepEqual([q.login, q.password, q.extra.q, q.extra.r], ["u+1", "a+b", "a b", "+"]);
  assert.equal(fromUri("c", "x://user:pa:ss@word@host").password, "pa:ss@word");
  assert.equal(fromUri("c", "spark://spark://Master:7077").host, "spark://master");
  assert.deepEqual(fromUri("c", "x://?__extra__=%7B%22a%22%3A+%7B%22b%22%3A+1%7D%7D").extra, { a: { b: 1 } });
  assert.equal(fromUri("c", "postgresql://h").connType, "postgres");
  assert.throws(() => fromUri("c", "a://b://c://d"), /more than two/);
  const j = fromUriOrJson("c", '{"conn_type": "azure-container-instance", "login": "id", "password": "pw", "port": "0", "extra": "{\\"tenantId\\": \\"t\\"}"}');
  assert.deepEqual([j.connType, j.login, j.password, j.port, j.extra], ["azure_container_instance", "id", "pw", null, { tenantId: "t" }]);
  assert.throws(() => fromUriOrJson("c", '{"pasword": "x"}'), /unknown key/);
});

test("plan sees connections with secrets hidden and presence kept", () => {
  const conn = fromUriOrJson("c", JSON.stringify({
    login: "id", password: "pw-secret",
    extra: { tenantId: "t", client_secret: "cs", key_json: '{"clientSecret": "k-secret", "tenantId": "t"}', connection_string: "A=1;AccountKey=abcd" },
  }));
  const r = redacted(conn, ["connection_string", "key_json.clientSecret"]);
  assert.equal(r.password, "***");
  assert.equal(r.extra.client_secret, "***");
  assert.equal(r.extra.connection_string, "***");
  assert.deepEqual(JSON.parse(r.extra.key_json), { clientSecret: "***", tenantId: "t" });
  assert.equal(r.extra.tenantId, "t");
});

test("the guest's output becomes whole lines, long ones cut", () => {
  const lines = [];
  const out = lineOutput(class {}, () => "ready", (l) => lines.push(l), 8);
  out.write(new TextEncoder().encode("par"));
  out.blockingWriteAndFlush(new TextEncoder().encode("tial\r\nsecond\nthis line is too long\nend"));
  assert.equal(out.subscribe(), "ready");
  out.finish();
  assert.deepEqual(lines, ["partial", "second", "this lin …[truncated]", "end"]);
});

test("masking: quote(s), quote_plus, lower-case hex, \\/ and \\uXXXX forms; PEM armour lines kept", () => {
  const m = new Masker();
  m.add("a/b c+é-secret");
  assert.equal(m.mask("x=a/b%20c%2B%C3%A9-secret"), "x=***");
  assert.equal(m.mask("x=a%2fb+c%2b%c3%a9-secret"), "x=***");
  assert.equal(m.mask('"a\\/b c+é-secret"'), '"***"');
  assert.equal(m.mask('"a/b c+\\u00e9-secret"'), '"***"');
  m.add("-----BEGIN PRIVATE KEY-----\nMIIEv-key-body\n-----END PRIVATE KEY-----");
  assert.equal(m.mask("-----BEGIN PRIVATE KEY-----"), "-----BEGIN PRIVATE KEY-----");
  assert.equal(m.mask("MIIEv-key-body"), "***");
});

test("hook sweep takes aci-host's flags (u64 as BigInt, options absent when not given)", () => {
  const call = hookCall("sweep", { "resource-group": "rg", "older-than-secs": "3600", "dry-run": true, "live-processes": '["1:2"]' });
  assert.equal(call.fn, "sweep");
  assert.deepEqual(call.args, [{ name: "options", value: {
    connId: "azure_default", resourceGroup: "rg", olderThanSecs: 3600n, dryRun: true, machine: undefined, liveProcesses: ["1:2"],
  } }]);
  const bare = hookCall("sweep", {}).args[0].value;
  assert.equal(bare.olderThanSecs, undefined);
  assert.equal(bare.dryRun, false);
});
