//! Registered clients, read once a minute at most: the lookup every token, userinfo and
//! authorization request makes.

use std::collections::HashMap;
use std::sync::RwLock;

use llavero_store::{Client, Store, StoreError};

/// How long a looked-up client is reused before it is read again.
pub const CLIENT_CACHE_SECS: i64 = 60;

/// Entries kept at most; past it the cache starts afresh.
const CLIENT_CACHE_ENTRIES: usize = 10_000;

/// Registered clients by id. Every token, userinfo and authorization request looks its client
/// up; a registration is added, never edited in place, so a copy at most
/// [`CLIENT_CACHE_SECS`] old is as good as the row, and the ceiling bounds how long a change
/// made by a later edit or removal would take to reach every instance. Unknown ids are not
/// cached: a client registered a moment ago is found at once.
#[derive(Debug, Default)]
pub struct ClientCache(RwLock<HashMap<String, (Client, i64)>>);

impl ClientCache {
    /// The client `id`, from the cache or the store.
    pub async fn get(
        &self,
        store: &Store,
        id: &str,
        now: i64,
    ) -> Result<Option<Client>, StoreError> {
        if let Ok(cached) = self.0.read()
            && let Some((client, read_at)) = cached.get(id)
            && now - read_at < CLIENT_CACHE_SECS
            && now >= *read_at
        {
            return Ok(Some(client.clone()));
        }
        let found = store.client(id).await?;
        if let (Some(client), Ok(mut cached)) = (&found, self.0.write()) {
            if cached.len() >= CLIENT_CACHE_ENTRIES {
                cached.clear();
            }
            cached.insert(id.to_owned(), (client.clone(), now));
        }
        Ok(found)
    }
}
