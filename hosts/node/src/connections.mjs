// Airflow connections from `AIRFLOW_CONN_<ID>` environment variables, in
// either of Airflow's forms, parsed as aci-host parses them
// (host/src/connections/): a URI (`azure://CLIENT_ID:SECRET@?tenantId=T`) or,
// when the value starts with `{`, the JSON form (`{"conn_type", "login",
// "password", "host", "port", "schema", "extra": {...} or "<json>"}`).
//
// A connection here is `{connId, connType, host, login, password, schema,
// port, extra}` with `extra` an object; `toWit` gives the WIT record (extra
// as JSON text). Error messages name keys, never values.

import { MASK, secretsInJson, isSensitiveKey, Masker } from "./mask.mjs";

/** The keys Airflow's JSON form may have. */
const JSON_KEYS = new Set([
  "conn_id", "conn_type", "description", "host", "login", "password", "schema", "port", "extra",
  "extra_dejson", "uri",
]);

/** Airflow's normalisation of a connection type (`-` → `_`, `postgresql` → `postgres`). */
function normalizeConnType(type) {
  const t = type.replace(/-/g, "_");
  return t === "postgresql" ? "postgres" : t;
}

/** Percent-decoding that keeps malformed escapes as they are (like Python's unquote). */
function unquote(text) {
  return text.replace(/(%[0-9a-fA-F]{2})+/g, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });
}

const emptyToNull = (s) => (s === undefined || s === null || s === "" ? null : s);

/** Splits `scheme:` off a URI; null when it has no valid scheme. */
function splitScheme(text) {
  const m = /^([A-Za-z][A-Za-z0-9+\-.]*):(.*)$/s.exec(text);
  return m ? [m[1].toLowerCase(), m[2]] : null;
}

/** Query pairs, `+` as space, later keys win (Python's parse_qsl into a dict). */
function parseQuery(query) {
  const pairs = query.split("&").filter(Boolean).map((piece) => {
    const eq = piece.indexOf("=");
    const [k, v] = eq < 0 ? [piece, ""] : [piece.slice(0, eq), piece.slice(eq + 1)];
    return [unquote(k.replace(/\+/g, " ")), unquote(v.replace(/\+/g, " "))];
  });
  const extra = pairs.findLast(([k]) => k === "__extra__");
  if (extra) {
    let parsed;
    try {
      parsed = JSON.parse(extra[1]);
    } catch {
      throw new Error("`__extra__` is not valid JSON");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("`__extra__` must be a JSON object");
    }
    return parsed;
  }
  return Object.fromEntries(pairs);
}

/** The netloc's host and port parts (brackets removed from IPv6 literals). */
function hostAndPort(hostinfo) {
  if (hostinfo.includes("[")) {
    const inner = hostinfo.slice(hostinfo.indexOf("[") + 1);
    const end = inner.indexOf("]");
    const host = end < 0 ? inner : inner.slice(0, end);
    const after = end < 0 ? "" : inner.slice(end + 1);
    return [host, after.includes(":") ? after.slice(after.indexOf(":") + 1) : ""];
  }
  const colon = hostinfo.indexOf(":");
  return colon < 0 ? [hostinfo, ""] : [hostinfo.slice(0, colon), hostinfo.slice(colon + 1)];
}

/** Parses an Airflow connection URI as Airflow's `Connection(uri=...)` does. */
export function fromUri(connId, uri) {
  const text = uri.trim().replace(/[\t\r\n]/g, "");
  if (!text) throw new Error("the URI is empty");
  if (text.split("://").length - 1 > 2) throw new Error("the URI has more than two `://`");
  const split = splitScheme(text);
  if (!split) throw new Error("the URI has no connection type; it must start with `<conn_type>://`");
  const [scheme, after] = split;
  if (!after.startsWith("//")) throw new Error(`the URI must start with \`${scheme}://\``);
  let rest = after.slice(2);
  let protocol = null;
  if (rest.includes("://")) {
    const before = rest.slice(0, rest.indexOf("://"));
    if (before.includes("@") || before.includes(":")) {
      throw new Error("a host with a protocol must not have a login or port before the protocol");
    }
    const inner = splitScheme(rest);
    if (!inner) throw new Error("the protocol of the host is not a valid URI scheme");
    protocol = inner[0];
    rest = inner[1].replace(/^\/\//, "");
  }
  const end = rest.search(/[/?#]/);
  const netloc = end < 0 ? rest : rest.slice(0, end);
  let tail = end < 0 ? "" : rest.slice(end);
  if (tail.includes("#")) tail = tail.slice(0, tail.indexOf("#"));
  const q = tail.indexOf("?");
  const path = q < 0 ? tail : tail.slice(0, q);
  const query = q < 0 ? null : tail.slice(q + 1);
  if (netloc.includes("[") !== netloc.includes("]")) throw new Error("invalid IPv6 host: unbalanced `[` `]`");
  const at = netloc.lastIndexOf("@");
  const userinfo = at < 0 ? null : netloc.slice(0, at);
  const hostinfo = at < 0 ? netloc : netloc.slice(at + 1);
  let login = null;
  let password = null;
  if (userinfo !== null) {
    const colon = userinfo.indexOf(":");
    login = colon < 0 ? userinfo : userinfo.slice(0, colon);
    password = colon < 0 ? null : userinfo.slice(colon + 1);
  }
  const [rawHost, rawPort] = hostAndPort(hostinfo);
  let host = unquote(rawHost.toLowerCase());
  if (host.includes("/")) host = unquote(hostinfo.split(":")[0]);
  let port = null;
  if (rawPort) {
    if (!/^\d+$/.test(rawPort)) throw new Error(`the port \`${rawPort}\` is not a number`);
    if (Number(rawPort) > 65535) throw new Error(`the port \`${rawPort}\` is out of range 0-65535`);
    port = Number(rawPort);
  }
  return {
    connId,
    connType: normalizeConnType(scheme),
    host: host ? (protocol ? `${protocol}://${host}` : host) : null,
    login: emptyToNull(login === null ? null : unquote(login)),
    password: emptyToNull(password === null ? null : unquote(password)),
    schema: emptyToNull(unquote(path.replace(/^\//, ""))),
    port,
    extra: query === null ? {} : parseQuery(query),
  };
}

/** A string field of the JSON form (numbers and booleans as Python prints them). */
function stringField(map, key) {
  const v = map[key];
  if (v === undefined || v === null || v === "") return null;
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  throw new Error(`\`${key}\` must be a string`);
}

/** The port of the JSON form: an integer 1–65535 or a string holding one (0 or empty: none). */
function portField(map) {
  const v = map.port;
  if (v === undefined || v === null || (typeof v === "string" && !v.trim())) return null;
  const n = typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error("expected an integer from 1 to 65535 for `port`");
  }
  return n === 0 ? null : n;
}

/** The extras of the JSON form: an object, or a string holding one. */
function extraField(value, key) {
  if (value && typeof value === "object" && !Array.isArray(value)) return value;
  if (typeof value === "string") {
    if (!value.trim()) return {};
    let parsed;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`\`${key}\` is a string that is not valid JSON`);
    }
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
    throw new Error(`\`${key}\` must be a JSON object`);
  }
  throw new Error(`\`${key}\` must be an object or a JSON string`);
}

/** Parses Airflow's JSON form of a connection (an object). */
export function fromObject(connId, map) {
  const unknown = Object.keys(map).filter((k) => !JSON_KEYS.has(k));
  if (unknown.length) throw new Error(`unknown key(s) ${unknown.map((k) => `\`${k}\``).join(", ")}`);
  if (map.conn_id !== undefined && map.conn_id !== null && map.conn_id !== connId) {
    throw new Error(`its \`conn_id\` is not \`${connId}\``);
  }
  if (map.uri !== undefined && map.uri !== null) {
    if (typeof map.uri !== "string") throw new Error("`uri` must be a string");
    return fromUri(connId, map.uri);
  }
  const has = (k) => map[k] !== undefined && map[k] !== null;
  if (has("extra") && has("extra_dejson")) throw new Error("`extra` and `extra_dejson` are mutually exclusive");
  const extra = has("extra") ? extraField(map.extra, "extra") : has("extra_dejson") ? extraField(map.extra_dejson, "extra_dejson") : {};
  const connType = stringField(map, "conn_type");
  return {
    connId,
    connType: connType === null ? null : normalizeConnType(connType),
    host: stringField(map, "host"),
    login: stringField(map, "login"),
    password: stringField(map, "password"),
    schema: stringField(map, "schema"),
    port: portField(map),
    extra,
  };
}

/** Either form: JSON when the text starts with `{`, else a URI (Airflow's rule). */
export function fromUriOrJson(connId, text) {
  if (text.trimStart().startsWith("{")) {
    let map;
    try {
      map = JSON.parse(text);
    } catch {
      throw new Error("not valid JSON");
    }
    if (!map || typeof map !== "object" || Array.isArray(map)) throw new Error("expected a JSON object");
    return fromObject(connId, map);
  }
  return fromUri(connId, text);
}

/**
 * Resolves a connection from an environment (`AIRFLOW_CONN_<ID upper-cased>`).
 * Returns `{conn}` or `{error: {tag: 'not-found'|'invalid', val}}`.
 */
export function lookup(env, connId) {
  const name = `AIRFLOW_CONN_${connId.toUpperCase()}`;
  const text = env[name];
  if (text === undefined) {
    // Worded as aci-host words it; the environment is the only place this host looks.
    const val = `connection \`${connId}\` is not defined; looked in 1. environment variable ${name} (not set)`;
    return { error: { tag: "not-found", val } };
  }
  try {
    return { conn: fromUriOrJson(connId, text) };
  } catch (e) {
    return { error: { tag: "invalid", val: `${name}: ${e.message}` } };
  }
}

/** Every secret of a connection, for masking: its password and sensitive extras. */
export function connectionSecrets(conn) {
  const out = conn.password ? [conn.password] : [];
  secretsInJson(conn.extra, null, false, 0, out);
  return out.filter(Boolean);
}

/** Applies `f` to the object a field holds, directly or as JSON text (rewritten as text). */
function withObject(extra, field, f) {
  const value = extra[field];
  if (value && typeof value === "object" && !Array.isArray(value)) {
    f(value);
  } else if (typeof value === "string") {
    try {
      const map = JSON.parse(value);
      if (map && typeof map === "object" && !Array.isArray(map)) {
        f(map);
        extra[field] = JSON.stringify(map);
      }
    } catch {
      // Not an object: no key inside to look at.
    }
  }
}

/** Every string inside a value (for masking a secret object). */
function strings(value, out) {
  if (typeof value === "string") out.push(value);
  else if (typeof value === "number") out.push(String(value));
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** A declared secret extra: `[field, key]` (`key` null for a whole field). */
function splitEntry(entry) {
  const dot = entry.indexOf(".");
  return dot < 0 ? [entry, null] : [entry.slice(0, dot), entry.slice(dot + 1)];
}

/** The values of the operator's declared secret extras (`field` or `field.key`). */
export function declaredSecrets(conn, secretExtras) {
  const out = [];
  const extra = structuredClone(conn.extra);
  for (const entry of secretExtras) {
    const [field, key] = splitEntry(entry);
    if (!(field in extra)) continue;
    if (key === null) strings(extra[field], out);
    else withObject(extra, field, (map) => key in map && strings(map[key], out));
  }
  return out.filter(Boolean);
}

/** Values under sensitive keys become `***` whatever their length; known secrets are masked elsewhere. */
function redactSensitive(value, masker) {
  if (Array.isArray(value)) return value.map((v) => redactSensitive(v, masker));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [
      k,
      isSensitiveKey(k) && (v === null || typeof v !== "object") ? MASK : redactSensitive(v, masker),
    ]));
  }
  return masker.maskJson(value);
}

/** The connection as `plan` sees it: password and secrets replaced by `***`, presence kept. */
export function redacted(conn, secretExtras) {
  const masker = new Masker();
  masker.addAll(connectionSecrets(conn));
  const extra = redactSensitive(conn.extra, masker);
  const present = (v) => v !== null && v !== undefined && v !== "";
  for (const entry of secretExtras) {
    const [field, key] = splitEntry(entry);
    if (!(field in extra)) continue;
    if (key === null) {
      if (present(extra[field])) extra[field] = MASK;
    } else {
      withObject(extra, field, (map) => {
        if (present(map[key])) map[key] = MASK;
      });
    }
  }
  return { ...conn, password: conn.password ? MASK : null, extra };
}

/** The WIT `connection` record (absent fields as `undefined`, extra as JSON text). */
export function toWit(conn) {
  const opt = (v) => (v === null || v === undefined ? undefined : v);
  return {
    connId: conn.connId,
    connType: opt(conn.connType),
    host: opt(conn.host),
    login: opt(conn.login),
    password: opt(conn.password),
    schema: opt(conn.schema),
    port: opt(conn.port),
    extra: JSON.stringify(conn.extra),
  };
}
