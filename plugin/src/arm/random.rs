//! Randomness from `wasi:random`: request ids (UUID v4) and retry jitter.

/// Formats 16 random bytes as a version-4 UUID (pure).
pub fn uuid_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A fresh random UUID v4 (`x-ms-client-request-id`, JWT `jti`).
pub fn uuid_v4() -> String {
    let bytes = crate::sys::random_bytes(16);
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    uuid_from_bytes(b)
}

/// Maps a random `u64` onto `[0, 1)` (pure).
pub fn unit_from_u64(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A random number in `[0, 1)` for backoff jitter.
pub fn jitter() -> f64 {
    unit_from_u64(crate::sys::insecure_random_u64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_from_bytes([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let u = uuid_from_bytes([0; 16]);
        assert_eq!(u, "00000000-0000-4000-8000-000000000000");
        assert_eq!(u.len(), 36);
    }

    #[test]
    fn unit_range() {
        assert_eq!(unit_from_u64(0), 0.0);
        assert!(unit_from_u64(u64::MAX) < 1.0);
        assert!((unit_from_u64(u64::MAX / 2) - 0.5).abs() < 1e-9);
    }
}
