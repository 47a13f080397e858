//! Refresh leases: at most one refresher per connection, by create-if-absent.

use super::Store;
use crate::{Condition, Record, StoreError, StoreResult, WriteOp, keys};
use latchkey_domain::ConnectionId;

/// A held refresh lease (see [`Leases::take_lease`]).
#[derive(Debug)]
pub struct Lease {
    connection_id: ConnectionId,
    /// Stored as the lease item's version, so only its holder can release it.
    nonce: u64,
}

pub trait Leases {
    /// Takes the connection's refresh lease for `seconds`, unless another holder has a
    /// live one (`None`). An expired lease counts as absent, so a crashed holder blocks
    /// nobody for longer than its lease.
    fn take_lease(
        &self,
        connection_id: &ConnectionId,
        seconds: i64,
    ) -> impl Future<Output = StoreResult<Option<Lease>>> + Send;
    /// Gives the lease back; a lease that expired and was taken by another stays theirs.
    fn release_lease(&self, lease: Lease) -> impl Future<Output = StoreResult<()>> + Send;
}

impl Leases for Store {
    async fn take_lease(
        &self,
        connection_id: &ConnectionId,
        seconds: i64,
    ) -> StoreResult<Option<Lease>> {
        let now = self.now();
        // 52 bits: a positive integer in every backend's number type.
        let nonce = u64::from_le_bytes(latchkey_domain::token::random_bytes::<8>()) >> 12 | 1;
        let mut record =
            Record::new(keys::lease(connection_id), "lease", "{}").expires_at(now + seconds);
        record.version = nonce;
        match self
            .write(vec![WriteOp::Put(record, Condition::Absent)])
            .await
        {
            Ok(()) => Ok(Some(Lease {
                connection_id: connection_id.clone(),
                nonce,
            })),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn release_lease(&self, lease: Lease) -> StoreResult<()> {
        let op = WriteOp::Delete(
            keys::lease(&lease.connection_id),
            Condition::Version(lease.nonce),
        );
        match self.write(vec![op]).await {
            Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
