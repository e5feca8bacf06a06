//! Issuer events in the audit trail: recorded against the citizen's account when they have one,
//! so they appear in the citizen's own history ("where your identity was used").

use llavero_platform::Origin;
use serde_json::Value;

use crate::state::Issuer;

/// Records an issuer event about the person with RUN number `run`.
pub async fn record(issuer: &Issuer, origin: &Origin, kind: &str, run: i64, detail: Value) {
    let account = match issuer.platform.store.account_by_run(run).await {
        Ok(account) => account.map(|a| a.id),
        Err(e) => {
            tracing::error!(error = %e, "looking up the account of an audit event");
            None
        }
    };
    issuer
        .platform
        .audit
        .record(origin, kind, account.as_deref(), None, detail)
        .await;
}
