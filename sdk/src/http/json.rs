//! Parsing response bodies as JSON within the guest's memory.
//!
//! A component's linear memory is bounded (256 MiB by default in the
//! reference host), and parsing JSON into values costs far more than the
//! text: each `0,` of a long array becomes a whole `serde_json::Value`
//! (measured natively: a 21 MB body of `[0,0,…]` takes 1.1 GB to parse,
//! one of `[{},{},…]` 570 MB, a 21 MB string 50 MB). So a body is read up
//! to [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES) (16 MiB) and then
//! parsed only when the estimate below stays under [`MAX_JSON_PARSE_BYTES`]
//! (96 MiB): together with the body itself and the buffer it was read into,
//! well inside the memory a plugin has.

use std::mem::size_of;

/// Most memory (estimated, see [`json_parse_cost`]) that parsing one
/// response body may take.
pub const MAX_JSON_PARSE_BYTES: usize = 96 * 1024 * 1024;

/// What one JSON value or object member may cost once parsed: a
/// `serde_json::Value`, a key and an index entry, twice over for the slack
/// of growing vectors and maps.
const COST_PER_VALUE: usize = 2 * (size_of::<serde_json::Value>() + size_of::<String>() + 16);

/// An upper estimate of the memory that parsing `body` takes: its bytes
/// (strings are copied) plus, for every value it can hold (each `[`, `{`,
/// `,` and `:` outside strings starts at most one), [`COST_PER_VALUE`].
pub fn json_parse_cost(body: &[u8]) -> usize {
    let mut values = 1usize;
    let (mut in_string, mut escaped) = (false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' | b',' | b':' => values += 1,
                _ => {}
            }
        }
    }
    body.len()
        .saturating_add(values.saturating_mul(COST_PER_VALUE))
}

/// Parses a response body as JSON, refusing (with an error that says so)
/// one whose parse would cost more than [`MAX_JSON_PARSE_BYTES`].
pub fn parse_json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, serde_json::Error> {
    let cost = json_parse_cost(body);
    if cost > MAX_JSON_PARSE_BYTES {
        return Err(serde::de::Error::custom(format!(
            "the response is too large to parse: {} bytes holding about {} MiB of JSON values, \
             over the {} MiB limit",
            body.len(),
            cost >> 20,
            MAX_JSON_PARSE_BYTES >> 20
        )));
    }
    serde_json::from_slice(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeated(prefix: &str, item: &str, suffix: &str, total: usize) -> Vec<u8> {
        let mut out = prefix.as_bytes().to_vec();
        while out.len() < total {
            out.extend_from_slice(item.as_bytes());
        }
        out.extend_from_slice(suffix.as_bytes());
        out
    }

    #[test]
    fn many_small_values_are_refused_before_parsing() {
        for body in [
            repeated("{\"value\":[", "0,", "0]}", 6_000_000),
            repeated("{\"value\":[", "{},", "{}]}", 6_000_000),
            repeated("{\"extra\":{", "\"k\":1,", "\"z\":1}}", 6_000_000),
        ] {
            let e = parse_json_body::<serde_json::Value>(&body).unwrap_err();
            assert!(e.to_string().contains("too large to parse"), "{e}");
        }
    }

    #[test]
    fn large_strings_and_ordinary_documents_parse() {
        let logs = repeated(
            "{\"content\":\"",
            "a log line, \\\"quoted\\\" [1,2]\\n",
            "\"}",
            12_000_000,
        );
        assert!(json_parse_cost(&logs) < MAX_JSON_PARSE_BYTES);
        let v: serde_json::Value = parse_json_body(&logs).unwrap();
        assert!(v["content"].as_str().unwrap().len() > 9_000_000);
        let list = repeated(
            "{\"value\":[",
            "{\"name\":\"g\",\"properties\":{\"a\":[1,2,3]}},",
            "{}]}",
            1_000_000,
        );
        assert!(parse_json_body::<serde_json::Value>(&list).is_ok());
    }

    #[test]
    fn strings_hide_structure() {
        assert_eq!(json_parse_cost(br#""[,{:\"]""#), 9 + COST_PER_VALUE);
        assert_eq!(json_parse_cost(b"[1,2]"), 5 + 3 * COST_PER_VALUE);
    }
}
