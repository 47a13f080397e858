//! Retry spacing for refreshes and webhook deliveries: exponential, capped, jittered so
//! that failures which happened together do not retry together.

/// Seconds to wait before retry number `attempt` (1-based): `base · 2^(attempt-1)` capped
/// at `cap`, then a uniformly random point in its upper half.
pub fn backoff_seconds(attempt: u32, base: i64, cap: i64) -> i64 {
    let exp = attempt.saturating_sub(1).min(30);
    let full = base.saturating_mul(1_i64 << exp).min(cap).max(1);
    let half = full / 2;
    let jitter = u64::from_le_bytes(crate::token::random_bytes::<8>()) % (half as u64 + 1);
    full - half + jitter as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters_within_the_upper_half() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let first = backoff_seconds(1, 60, 3600);
            assert!((30..=60).contains(&first), "{first}");
            let third = backoff_seconds(3, 60, 3600);
            assert!((120..=240).contains(&third), "{third}");
            let late = backoff_seconds(40, 60, 3600);
            assert!((1800..=3600).contains(&late), "{late}");
            seen.insert(first);
        }
        assert!(seen.len() > 5, "jitter spreads retries: {seen:?}");
    }
}
