//! The credentials an emulator instance accepts, as its users need them.

use serde::{Deserialize, Serialize};

/// What a client needs to sign in to a running emulator: `aci-host emulator` prints this as
/// the JSON object on its second stdout line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The tenant to use (any tenant works unless the emulator restricts them).
    pub tenant_id: String,
    /// The client id ([`crate::LOCAL_CLIENT_ID`]).
    pub client_id: String,
    /// Its secret: random per instance unless configured. Also the bearer secret of the
    /// `/_emulator/*` control routes.
    pub client_secret: String,
    /// A subscription id to use (any subscription id works).
    pub subscription_id: String,
}

impl std::fmt::Debug for Credentials {
    /// The secret as `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("subscription_id", &self.subscription_id)
            .finish()
    }
}

/// Compares a presented secret with the expected one in time independent of where they differ.
pub(crate) fn secret_matches(presented: &str, expected: &str) -> bool {
    let (a, b) = (presented.as_bytes(), expected.as_bytes());
    if a.len() != b.len() || b.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret_and_comparison_is_exact() {
        let c = Credentials {
            tenant_id: "t".into(),
            client_id: "c".into(),
            client_secret: "s3cr3t".into(),
            subscription_id: "s".into(),
        };
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["client_secret"], "s3cr3t");
        assert!(secret_matches("s3cr3t", "s3cr3t"));
        for bad in ["s3cr3", "s3cr3T", "", "s3cr3tt"] {
            assert!(!secret_matches(bad, "s3cr3t"), "{bad}");
        }
        assert!(!secret_matches("", ""), "an empty secret never matches");
    }
}
