// `wasi:http` for the guest: preview2-shim's implementation behind the
// outbound policy, the one choke point for every request (as aci-host's
// wasi-http send hook, host/src/http_hooks.rs).
//
// - `outgoing-handler.handle` asks the policy first; a denied request fails
//   with `HTTP-request-denied` before any socket, and is logged.
// - Whether a request may carry a body is known as aci-host knows it: a
//   `transfer-encoding`, a `content-length` other than 0, or a body the guest
//   asked for (`outgoing-request.body`) without a declared length of 0.
// - The shim uses the connect timeout as the socket's idle timeout until the
//   response head arrives, so a response slower than the connect timeout (the
//   guest SDK asks for 10 s) would fail. The wrapper passes the shim the
//   larger of the connect and first-byte timeouts instead; the guest's own
//   deadline still bounds every request.

import { denyReason } from "./policy.mjs";

/** Request headers that carry credentials. */
const CREDENTIAL_HEADERS = new Set(["authorization", "proxy-authorization", "cookie"]);

/** The header names and values of a `fields` resource, names lower-cased. */
function headerEntries(fields) {
  const decoder = new TextDecoder();
  return fields.entries().map(([name, value]) => [name.toLowerCase(), decoder.decode(value).trim()]);
}

/** The scheme of a request as text (`https` when unset, as the shim sends it). */
function schemeText(scheme) {
  if (!scheme) return "https";
  if (scheme.tag === "other") return scheme.val;
  return scheme.tag.toLowerCase();
}

/**
 * Wraps preview2-shim's `http` module (`{outgoingHandler, types}`).
 *
 * `policy` is read at every request: `{allowed: Set<origin text>}`; `log`
 * receives `(level, message)` for denials; `stats` counts `{allowed, denied}`.
 */
export function policedHttp(shimHttp, { policy, log, stats }) {
  const bodyTaken = new WeakSet();
  const { OutgoingRequest, RequestOptions } = shimHttp.types;

  /** An outgoing request that remembers whether the guest asked for its body. */
  class PolicedOutgoingRequest extends OutgoingRequest {
    body() {
      const body = super.body();
      bodyTaken.add(this);
      return body;
    }
  }

  /** The facts the policy decides on. */
  function facts(request) {
    const headers = headerEntries(request.headers());
    const lengths = headers.filter(([n]) => n === "content-length").map(([, v]) => v);
    const declaredEmpty = lengths.length > 0 && lengths.every((v) => v === "0");
    return {
      scheme: schemeText(request.scheme()),
      authority: request.authority() ?? "",
      credentialHeader: headers.some(([n]) => CREDENTIAL_HEADERS.has(n)),
      mayHaveBody:
        headers.some(([n]) => n === "transfer-encoding") ||
        lengths.some((v) => v !== "0") ||
        (bodyTaken.has(request) && !declaredEmpty),
    };
  }

  /** The shim's options with the idle timeout widened to the first-byte timeout. */
  function widened(options) {
    if (!options) return options;
    const connect = options.connectTimeout();
    const firstByte = options.firstByteTimeout();
    const out = new RequestOptions();
    out.setConnectTimeout(connect !== undefined && firstByte !== undefined && firstByte > connect ? firstByte : connect);
    out.setFirstByteTimeout(firstByte);
    out.setBetweenBytesTimeout(options.betweenBytesTimeout());
    return out;
  }

  const outgoingHandler = {
    handle(request, options) {
      const f = facts(request);
      const reason = denyReason(policy.allowed, f);
      if (reason !== null) {
        stats.denied += 1;
        log("warning", `outbound request denied: ${reason}`);
        throw { tag: "HTTP-request-denied" };
      }
      stats.allowed += 1;
      return shimHttp.outgoingHandler.handle(request, widened(options));
    },
  };
  return { outgoingHandler, types: { ...shimHttp.types, OutgoingRequest: PolicedOutgoingRequest } };
}
