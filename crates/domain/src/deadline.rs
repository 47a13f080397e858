//! The invocation's deadline. On Lambda a request must answer before the function's own
//! timeout (else API Gateway answers a bare 500, and a rotated refresh token being written
//! could be lost), so every wait inside it — token calls, lease waits, the proxy's upstream
//! call, a webhook's first attempt — is cut to what is left. The deadline is set once per
//! invocation (`within`), and read where a wait starts (`budget`); outside any (the local
//! gateway, tests) each wait keeps its own length.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with every [`budget`] inside it ending by `deadline`.
pub async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// `wanted`, cut to the time left before the deadline (zero once it has passed).
pub fn budget(wanted: Duration) -> Duration {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .map_or(wanted, |left| left.min(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_budget_is_cut_to_the_deadline_only_inside_one() {
        let wanted = Duration::from_secs(15);
        assert_eq!(budget(wanted), wanted);
        let soon = Instant::now() + Duration::from_secs(2);
        let inside = within(soon, async { budget(wanted) }).await;
        assert!(inside <= Duration::from_secs(2) && inside > Duration::ZERO);
        let past = within(Instant::now(), async { budget(wanted) }).await;
        assert_eq!(past, Duration::ZERO);
    }
}
