//! Latchkey's connection use-cases: the connect flow (begin, finish, complete, replace
//! earlier), keeping connections alive (refresh under a lease, the scheduled run),
//! disconnecting, and calling the third-party API with a connection's credentials.
//! Built on the core and the protocol clients of `latchkey-providers`; knows no HTTP
//! server or page types.

pub mod connections;
pub mod flow;
pub mod grants;
pub mod reminders;
