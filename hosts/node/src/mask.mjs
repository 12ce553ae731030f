// Secret masking, following aci-host's rules (host/src/mask.rs):
// - secrets shorter than 4 characters (after trimming) are not masked;
// - each secret is also masked percent-encoded (Python's `quote(s, safe="")`,
//   `quote(s)` and `quote_plus(s)`, upper- and lower-case hex, as in a
//   connection URI), JSON-escaped (also with `\/` and `\uXXXX`), base64-encoded
//   (standard and URL-safe, with and without padding: a Basic authorization
//   header), and line by line when it has several lines (PEM armour lines
//   excepted);
// - unlike aci-host, a secret inside a longer base64 text (at another byte
//   alignment) and a secret split across two log lines are not recognised;
// - the longest secret wins where several match at one place.
// Mask whole lines: a secret split across two calls cannot be recognised.

/** What a masked secret is replaced with. */
export const MASK = "***";

/** Secrets shorter than this (after trimming) are not masked. */
export const MIN_SECRET_LEN = 4;

/** Substrings that make a key name sensitive (Airflow's list plus Azure's key names). */
const SENSITIVE_KEY_PARTS = [
  "access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password",
  "private_key", "secret", "token", "keyfile_dict", "service_account",
  "privatekey", "accountkey", "account_key", "workspacekey", "workspace_key", "sharedaccesskey",
  "shared_access_key", "sharedaccesssignature", "connection_string", "connectionstring", "credential",
];

/** Connection-string segment names whose value is a secret. */
const CONNECTION_STRING_SECRET_PARTS = new Set([
  "accountkey", "sharedaccesskey", "sharedaccesssignature", "password", "pwd",
]);

/** True when a key with this name holds a secret. */
export function isSensitiveKey(name) {
  const lower = name.toLowerCase();
  return SENSITIVE_KEY_PARTS.some((part) => lower.includes(part));
}

/** The secret values of an Azure-style connection string (`AccountKey=...;...`). */
export function connectionStringSecrets(text) {
  const out = [];
  for (const segment of text.split(";")) {
    const eq = segment.indexOf("=");
    if (eq < 0) continue;
    const name = segment.slice(0, eq).trim().toLowerCase();
    const value = segment.slice(eq + 1).trim();
    if (CONNECTION_STRING_SECRET_PARTS.has(name) && value) out.push(value);
  }
  return out;
}

/**
 * The secrets inside a JSON value: strings (or numbers) under sensitive keys
 * at any depth, connection-string keys, and the same inside strings that hold
 * a JSON object.
 */
export function secretsInJson(value, key = null, inherited = false, depth = 0, out = []) {
  if (depth > 64) return out;
  const sensitive = inherited || (key !== null && isSensitiveKey(key));
  if (typeof value === "string") {
    const lower = key?.toLowerCase() ?? "";
    if (lower.includes("connection_string") || lower.includes("connectionstring")) {
      out.push(...connectionStringSecrets(value));
    }
    if (sensitive) {
      out.push(value);
    } else if (value.trimStart().startsWith("{")) {
      try {
        const inner = JSON.parse(value);
        if (inner && typeof inner === "object" && !Array.isArray(inner)) {
          secretsInJson(inner, null, false, depth + 1, out);
        }
      } catch {
        // Not JSON: nothing inside to look at.
      }
    }
  } else if (typeof value === "number" && sensitive) {
    out.push(String(value));
  } else if (Array.isArray(value)) {
    for (const item of value) secretsInJson(item, null, sensitive, depth + 1, out);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) secretsInJson(v, k, sensitive, depth + 1, out);
  }
  return out;
}

/** Python's `urllib.parse.quote(s, safe="")`: everything but `A-Za-z0-9_.-~` encoded. */
function quoteAll(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Secrets over this many bytes are masked line by line only (aci-host's bound). */
const MAX_SECRET_BYTES = 64 * 1024;
/** Secrets up to this many bytes also get their base64 forms. */
const MAX_BASE64_SECRET = 8 * 1024;

/** `-----BEGIN … KEY-----` and the like: not secret themselves. */
const isPemArmour = (line) => /^-----.*-----$/.test(line.trim());

/**
 * Percent-encoded as Python's `quote(s, safe="")`, `quote(s)` (`/` kept) and
 * `quote_plus(s)`, each with upper- and lower-case hex.
 */
function percentForms(secret) {
  const all = quoteAll(secret);
  const forms = [all, all.replace(/%2F/g, "/"), all.replace(/%20/g, "+")];
  return forms.flatMap((f) => [f, f.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())]);
}

/** JSON-escaped: as JSON.stringify writes it, with `\/`, and with non-ASCII as `\uXXXX`. */
function jsonForms(secret) {
  const plain = JSON.stringify(secret).slice(1, -1);
  const ascii = plain.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return [plain, plain.replace(/\//g, "\\/"), ascii];
}

/** Base64, standard and URL-safe, padded and not. */
function base64Forms(secret) {
  const bytes = Buffer.from(secret, "utf8");
  const b64 = bytes.toString("base64");
  const url = bytes.toString("base64url");
  return [b64, b64.replace(/=+$/, ""), url, `${url}${"=".repeat((4 - (url.length % 4)) % 4)}`];
}

/** The forms of one secret that are masked. */
function variants(secret) {
  const out = new Set();
  const push = (s) => {
    if (s.trim().length >= MIN_SECRET_LEN) out.add(s);
  };
  if (secret.trim().length < MIN_SECRET_LEN) return out;
  const size = Buffer.byteLength(secret);
  if (size <= MAX_SECRET_BYTES) {
    [secret, ...percentForms(secret), ...jsonForms(secret)].forEach(push);
    if (size <= MAX_BASE64_SECRET) base64Forms(secret).forEach(push);
  }
  if (secret.includes("\n")) {
    for (const line of secret.split("\n").map((l) => l.replace(/\r$/, ""))) {
      if (Buffer.byteLength(line) <= MAX_SECRET_BYTES && !isPemArmour(line)) push(line);
    }
  }
  return out;
}

/** Escapes a string for use inside a regular expression. */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A growing set of secrets and the matcher that hides them. */
export class Masker {
  #originals = new Set();
  #secrets = new Set();
  #pattern = null;

  /** Adds a secret (and its encodings) to mask from now on. */
  add(secret) {
    if (typeof secret !== "string" || secret.trim().length < MIN_SECRET_LEN) return;
    this.#originals.add(secret);
    const before = this.#secrets.size;
    for (const v of variants(secret)) this.#secrets.add(v);
    if (this.#secrets.size !== before) {
      // Longest first: the alternation then prefers the longest match at a position.
      const sorted = [...this.#secrets].sort((a, b) => b.length - a.length);
      this.#pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g");
    }
  }

  /** The secrets added so far (to hand them to another thread's masker). */
  secrets() {
    return [...this.#originals];
  }

  /** Adds every secret of an iterable. */
  addAll(secrets) {
    for (const s of secrets) this.add(s);
  }

  /** `text` with every known secret replaced by `***`. */
  mask(text) {
    return this.#pattern ? String(text).replace(this.#pattern, MASK) : String(text);
  }

  /** A copy of a JSON value with every known secret masked in every string, keys included. */
  maskJson(value) {
    if (typeof value === "string") return this.mask(value);
    if (Array.isArray(value)) return value.map((v) => this.maskJson(v));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.mask(k), this.maskJson(v)]));
    }
    return value;
  }
}
