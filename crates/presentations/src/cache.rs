//! Values read from the database and opened (a relying party with its signing key), kept a
//! short time by key. The cache is typed where it is used, not where the service state holds
//! it, so the state needs no import of the modules whose values it keeps.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Values by key, each with the time it was stored.
#[derive(Debug, Default)]
pub struct TimedCache(RwLock<HashMap<String, Stored>>);

type Stored = (i64, Arc<dyn Any + Send + Sync>);

impl TimedCache {
    /// The value stored under `key` at `stored_after` or later, if it is a `T`.
    #[must_use]
    pub fn get<T: Any + Send + Sync>(&self, key: &str, stored_after: i64) -> Option<Arc<T>> {
        let map = match self.0.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (at, value) = map.get(key)?;
        if *at < stored_after {
            return None;
        }
        Arc::clone(value).downcast::<T>().ok()
    }

    /// Stores `value` under `key` at time `at`.
    pub fn put<T: Any + Send + Sync>(&self, key: &str, at: i64, value: Arc<T>) {
        let mut map = match self.0.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.insert(key.to_owned(), (at, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_typed_while_fresh() {
        let cache = TimedCache::default();
        cache.put("farmacia", 100, Arc::new(7_u32));
        assert_eq!(cache.get::<u32>("farmacia", 100).as_deref(), Some(&7));
        assert_eq!(cache.get::<u32>("farmacia", 101), None, "stale");
        assert_eq!(cache.get::<String>("farmacia", 0), None, "another type");
        assert_eq!(cache.get::<u32>("banco", 0), None, "another key");
    }
}
