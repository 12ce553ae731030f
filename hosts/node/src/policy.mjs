// The outbound policy, as aci-host decides it (host/src/policy.rs), and the
// grant in its JSON form (host/src/grant.rs).
//
// Rules, in order:
// - Only `http` and `https`; an authority with user info (`user@host`) is denied.
// - Over plain http to a host that is not loopback (an IPv4 literal in
//   127.0.0.0/8, `::1`, or `localhost`, decided by parsing), a request with a
//   credential header (Authorization, Proxy-Authorization, Cookie) or one that
//   may carry a body is denied, whatever the grant.
// - Otherwise a request goes out only when its origin (scheme, lower-case host
//   without a trailing dot, port or the scheme's default) is granted.

import { isIP } from "node:net";

/** Default port of a scheme. */
const DEFAULT_PORT = { http: 80, https: 443 };

/** An origin's written form: `scheme://host:port` (IPv6 hosts in brackets). */
export function originText({ scheme, host, port }) {
  return host.includes(":") ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
}

/**
 * Splits an authority into a lower-case host and a port, as policy.rs does.
 * Throws an Error with a reason on anything else.
 */
function parseAuthority(authority, scheme) {
  if (!authority) throw new Error("no host");
  if (authority.includes("@")) throw new Error("user info (`user@host`) is not allowed");
  let host;
  let port;
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    if (end < 0) throw new Error("unterminated IPv6 literal");
    host = authority.slice(1, end);
    const after = authority.slice(end + 1);
    if (after !== "") {
      if (!after.startsWith(":")) throw new Error("garbage after IPv6 literal");
      port = after.slice(1);
    }
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) {
      host = authority.slice(0, colon);
      if (host.includes(":")) throw new Error("IPv6 literals must be in brackets");
      port = authority.slice(colon + 1);
    } else {
      host = authority;
    }
  }
  let portNumber = DEFAULT_PORT[scheme];
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`invalid port \`${port}\``);
    portNumber = Number(port);
  }
  if (portNumber === 0) throw new Error("port 0 is not a valid destination");
  host = host.replace(/\.+$/, "").toLowerCase();
  if (!host) throw new Error("no host");
  if (!/^[a-z0-9\-.:_]+$/.test(host)) throw new Error(`invalid host \`${host}\``);
  return { host, port: portNumber };
}

/**
 * Parses an origin: `host`, `host:port`, `[v6]:port` (https) or a URL
 * `scheme://host[:port][/path]`. The written form of a grant's origins
 * (`scheme://host:port`) parses to itself. Throws on anything else.
 */
export function parseOrigin(entry) {
  const text = entry.trim();
  if (!text) throw new Error("invalid origin: empty entry");
  if (text.includes("*")) throw new Error(`invalid origin \`${text}\`: wildcards are not supported`);
  let scheme = "https";
  let rest = text;
  const sep = text.indexOf("://");
  if (sep >= 0) {
    scheme = text.slice(0, sep).toLowerCase();
    if (!(scheme in DEFAULT_PORT)) {
      throw new Error(`invalid origin \`${text}\`: only http and https are supported`);
    }
    rest = text.slice(sep + 3);
  }
  const authority = rest.split(/[/?#]/)[0];
  try {
    return { scheme, ...parseAuthority(authority, scheme) };
  } catch (e) {
    throw new Error(`invalid origin \`${text}\`: ${e.message}`);
  }
}

/** The origin a plugin declared as parts (`{scheme, host, port}`), checked like a rule. */
export function originFromParts({ scheme, host, port }) {
  const s = String(scheme).toLowerCase();
  if (!(s in DEFAULT_PORT)) throw new Error(`scheme \`${scheme}\` is not http(s)`);
  if (host.includes("*")) throw new Error(`\`${host}\`: wildcards are not supported`);
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.includes(":") && isIP(bare) !== 6) {
    throw new Error(`\`${host}\` is neither a host name nor an IP literal`);
  }
  const authority = bare.includes(":") ? `[${bare}]:${port}` : `${bare}:${port}`;
  return { scheme: s, ...parseAuthority(authority, s) };
}

/**
 * True for loopback hosts, decided by parsing: an IPv4 literal in
 * 127.0.0.0/8, `::1` (brackets optional) or `localhost` (any case, one
 * trailing dot allowed). `127.attacker.example`, `localhost.evil` and
 * `::ffff:127.0.0.1` are not loopback.
 */
export function isLoopback(host) {
  const h = host.endsWith(".") ? host.slice(0, -1) : host;
  if (h.toLowerCase() === "localhost") return true;
  const bare = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  if (isIP(bare) === 4) return bare.split(".")[0] === "127";
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname === "[::1]";
  return false;
}

/**
 * Decides whether a request may go out.
 *
 * `facts` = `{scheme, authority, credentialHeader, mayHaveBody}`; `allowed` =
 * a Set of origin texts (`scheme://host:port`). Returns `null` when the
 * request may go, else the reason it is denied (worded as aci-host's).
 */
export function denyReason(allowed, facts) {
  const scheme = String(facts.scheme || "").toLowerCase();
  if (!(scheme in DEFAULT_PORT)) return `scheme \`${facts.scheme}\` is not allowed`;
  let origin;
  try {
    origin = { scheme, ...parseAuthority(facts.authority || "", scheme) };
  } catch (e) {
    return e.message;
  }
  const endpoint = originText(origin);
  if (scheme === "http" && !isLoopback(origin.host)) {
    if (facts.credentialHeader) {
      return `credentials may only be sent over https (or to loopback), not to \`${endpoint}\``;
    }
    if (facts.mayHaveBody) {
      return `a request body may hold a secret: it goes only over https (or to loopback), not to \`${endpoint}\``;
    }
  }
  if (allowed.has(endpoint)) return null;
  return `\`${endpoint}\` is not in the task's grant (the origins its operator declared); allow it with --allow-host if intended`;
}

/**
 * A grant in aci-host's JSON form (`validate --explain --json`): sorted lists
 * without repeats of `connections`, `origins`, `allow_hosts`, `files`,
 * `environment`, and the plan's `budgets` sorted by key, one per key.
 */
export function grantJson({ connections = [], origins = [], allowHosts = [], files = [], environment = [], budgets = [] }) {
  const sorted = (items) => [...new Set(items)].sort();
  const byKey = new Map(budgets.map((b) => [b.key, b]));
  return {
    connections: sorted(connections),
    origins: sorted(origins.map(originText)),
    allow_hosts: sorted(allowHosts.map(originText)),
    files: sorted(files),
    environment: sorted(environment),
    budgets: [...byKey.keys()].sort().map((key) => {
      const b = byKey.get(key);
      return { key, class: b.class, capacity: b.capacity, refill_per_second: b.refillPerSecond ?? b.refill_per_second };
    }),
  };
}

/** A grant (JSON form) as the lines `aci-host validate --explain` and `run -v` print. */
export function grantLines(grant) {
  const list = (items) => (items.length ? items.join(", ") : "none");
  const origins = [...grant.origins, ...grant.allow_hosts.filter((o) => !grant.origins.includes(o)).map((o) => `${o} (--allow-host)`)];
  return [
    `connections: ${list(grant.connections)}`,
    ...(origins.length ? origins.map((o) => `origin:      ${o}`) : ["origins:     none"]),
    `files:       ${list(grant.files)}`,
    `environment: ${list(grant.environment)}${grant.environment.length ? " (passed when set)" : ""}`,
  ];
}
