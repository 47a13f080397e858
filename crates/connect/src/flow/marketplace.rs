//! Chift's marketplace: the integrations a consumer may connect, each marked when the
//! consumer already has a working connection to it, and where an attempt's end sends the
//! browser when that is the marketplace.

use latchkey_store::{Connections, Integrations};
use std::collections::BTreeSet;

use super::{Ending, Next, Outcome};
use latchkey_core::App;
use latchkey_domain::{
    AccountId, ConnectionStatus, ConsumerId, FlowError, Integration, IntegrationId,
    IntegrationStatus,
};

/// One integration on offer.
#[derive(Debug, Clone)]
pub struct Offer {
    pub integration: Integration,
    /// The consumer has an active connection to it.
    pub connected: bool,
}

/// The account's active integrations, marked with the consumer's active connections.
pub async fn offers(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
) -> Result<Vec<Offer>, FlowError> {
    // Independent reads, at once; pages of the store's largest size, so a catalog of a few
    // hundred integrations is one query.
    let (connected, integrations) = tokio::try_join!(
        connected(app, account_id, consumer_id),
        active_integrations(app, account_id)
    )?;
    Ok(integrations
        .into_iter()
        .map(|integration| Offer {
            connected: connected.contains(&integration.id),
            integration,
        })
        .collect())
}

/// Every page of the largest size the store answers.
const PAGE: usize = 1000;

async fn connected(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
) -> Result<BTreeSet<IntegrationId>, FlowError> {
    let mut connected = BTreeSet::new();
    let mut cursor = None;
    loop {
        let page = app
            .store
            .consumer_connections(account_id, consumer_id, None, PAGE, cursor.as_ref())
            .await?;
        connected.extend(
            page.items
                .into_iter()
                .map(|v| v.value)
                .filter(|c| c.status == ConnectionStatus::Active)
                .map(|c| c.integration_id),
        );
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(connected),
        }
    }
}

async fn active_integrations(
    app: &App,
    account_id: &AccountId,
) -> Result<Vec<Integration>, FlowError> {
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store
            .list_integrations(
                account_id,
                Some(IntegrationStatus::Active),
                PAGE,
                cursor.as_ref(),
            )
            .await?;
        found.extend(page.items.into_iter().map(|v| v.value));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// How an attempt ends for the browser: where `ending` sends it and, when that is the
/// marketplace, what it offers.
#[derive(Debug)]
pub struct Conclusion {
    pub next: Next,
    pub offers: Vec<Offer>,
}

pub async fn conclude(
    app: &App,
    account_id: &AccountId,
    consumer_id: &ConsumerId,
    ending: &Ending,
    outcome: &Outcome,
) -> Result<Conclusion, FlowError> {
    let next = ending.next(outcome);
    let offers = match next {
        Next::Marketplace { .. } => offers(app, account_id, consumer_id).await?,
        _ => Vec::new(),
    };
    Ok(Conclusion { next, offers })
}
