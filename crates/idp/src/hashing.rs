//! Argon2id hashing with bounded concurrency and reused memory.
//!
//! Why: every login, activation and password change costs an Argon2id computation over 19 MiB.
//! Run unbounded on Tokio's blocking threads, a burst of concurrent logins allocated 19 MiB per
//! request, and the allocator kept the freed buffers: four bursts of sixty took the server from
//! 35 MB to 4.7 GB resident, never released. A burst of guesses could exhaust the memory of
//! every instance.
//!
//! The [`PasswordHasher`] bounds both:
//!
//! ```text
//!  request ──admit()──▶ HashingSlot ──verify()/hash()──▶ worker permit ──▶ blocking thread
//!            │ (workers + queue                          (`workers`)        one pooled buffer
//!            │  admitted at once)                                           of 19 MiB, wiped
//!            └─ full: HashingError::Busy (503 + Retry-After)                and returned
//! ```
//!
//! - **Admission** ([`PasswordHasher::admit`]): at most `workers + queue` requests hold a slot.
//!   Beyond that the request is refused at once with [`HashingError::Busy`], before anything is
//!   looked up or counted, and the web layer answers 503 with `Retry-After`. Waiting requests
//!   cost a few kilobytes each, not a buffer.
//! - **Workers**: at most `workers` computations run at once (default: the cores), each on a
//!   blocking thread, holding its permit until it finishes even if the request is dropped.
//! - **Memory**: each computation borrows a buffer from a pool
//!   (`Argon2::hash_password_into_with_memory`), allocated the first time it is needed and kept;
//!   there are never more buffers than workers, so the resident memory stays at
//!   `workers × 19 MiB` above the rest of the server. A buffer is zeroized before it goes back.
//!
//! **Same work for every answer.** A login for an unknown RUN, or for an account without a
//! usable password, verifies against a dummy hash (random salt, random output, the same
//! parameters) through the same slot, permit and buffer: the answer costs the same time and
//! never matches. [`HashingStats::computed`] counts every computation, which tests use to check
//! that no path skips it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

/// Argon2id memory cost in KiB: 19 MiB (OWASP Password Storage Cheat Sheet, first option).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes.
pub const PASSES: u32 = 2;
/// Argon2id lanes.
pub const LANES: u32 = 1;
/// Length of a new hash's output, in bytes.
const OUTPUT_LEN: usize = 32;
/// Length of a new hash's salt, in bytes (RFC 9106 §3.1 recommends 16).
const SALT_LEN: usize = 16;
/// Longest salt a stored hash may carry (the PHC string format's limit), in bytes.
const MAX_SALT_LEN: usize = 64;
/// The `Retry-After` of a [`HashingError::Busy`] answer, in seconds: at the default sizes
/// the queue is about a second of work, so a retry a second later usually gets a slot.
pub const BUSY_RETRY_AFTER_SECS: i64 = 1;
/// Default queue per worker: with a hash taking some 30 ms, 32 waiting requests per worker
/// wait at most about a second, and a burst of 60 logins on two cores is served, not refused.
pub const QUEUE_PER_WORKER: usize = 32;

/// How many hashes may run and wait at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    /// Computations running at once, each with its own 19 MiB buffer.
    pub workers: std::num::NonZeroUsize,
    /// Requests admitted beyond the running ones, waiting for a worker; more are refused.
    pub queue: usize,
}

impl HashingLimits {
    /// One worker per core, [`QUEUE_PER_WORKER`] waiting requests per worker.
    #[must_use]
    pub fn for_this_machine() -> Self {
        let workers = std::thread::available_parallelism().unwrap_or(std::num::NonZeroUsize::MIN);
        Self {
            workers,
            queue: workers.get().saturating_mul(QUEUE_PER_WORKER),
        }
    }
}

impl Default for HashingLimits {
    fn default() -> Self {
        Self::for_this_machine()
    }
}

/// Why a password could not be hashed or verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashingError {
    /// Every worker is busy and the queue is full: try again after
    /// [`BUSY_RETRY_AFTER_SECS`].
    #[error("every password hashing worker is busy and the queue is full")]
    Busy,
    /// The computation failed (never for the parameters used here) or its thread was lost.
    #[error("password hashing failed")]
    Failed,
}

/// Counters of a [`PasswordHasher`], for operators and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingStats {
    /// Argon2 computations finished (verifications, dummy ones included, and new hashes).
    pub computed: u64,
    /// Requests refused because the queue was full.
    pub refused: u64,
    /// Memory buffers allocated so far (never more than the workers).
    pub buffers: usize,
}

/// The Argon2 inputs of one computation: the stored hash's settings, or the dummy's.
#[derive(Clone)]
struct Target {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    /// The output to match (`None` when making a new hash).
    expected: Option<Output>,
}

impl Target {
    /// The settings of a stored PHC string, if it is an Argon2 hash this hasher can compute
    /// within its buffers.
    fn parse(phc: &str, capacity: usize) -> Option<Self> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from);
        let params = Params::try_from(&parsed).ok()?;
        if params.block_count() > capacity {
            tracing::warn!(
                m_cost = params.m_cost(),
                "stored password hash needs more memory than the hashing buffers"
            );
            return None;
        }
        let mut salt = [0u8; MAX_SALT_LEN];
        let salt = parsed.salt?.decode_b64(&mut salt).ok()?.to_vec();
        Some(Self {
            algorithm,
            version: version.ok()?,
            params,
            salt,
            expected: Some(parsed.hash?),
        })
    }
}

struct Inner {
    params: Params,
    admission: Arc<Semaphore>,
    workers: Arc<Semaphore>,
    /// Buffers not in use; at most one per worker exists.
    memory: Mutex<Vec<Box<[Block]>>>,
    /// Verified against when there is no stored hash: never matches, costs the same.
    dummy: Target,
    computed: AtomicU64,
    refused: AtomicU64,
    buffers: AtomicUsize,
}

impl Inner {
    /// Runs Argon2 for `target` into `out` with a pooled buffer (on a blocking thread).
    fn compute(
        &self,
        target: &Target,
        password: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashingError> {
        let capacity = self.params.block_count();
        let pooled = self.memory.lock().ok().and_then(|mut free| free.pop());
        let mut blocks = pooled.unwrap_or_else(|| {
            self.buffers.fetch_add(1, Ordering::Relaxed);
            vec![Block::default(); capacity].into_boxed_slice()
        });
        let result = Argon2::new(target.algorithm, target.version, target.params.clone())
            .hash_password_into_with_memory(password, &target.salt, out, &mut *blocks);
        // The blocks Argon2 used (the first `block_count` of the target's parameters, argon2's
        // `fill_blocks`) held values derived from the password; the rest were never written
        // since the last wipe. Wiping only those keeps a login at a stored hash of smaller cost
        // from paying for a 19 MiB memset.
        blocks
            .iter_mut()
            .take(target.params.block_count())
            .for_each(zeroize::Zeroize::zeroize);
        if let Ok(mut free) = self.memory.lock() {
            free.push(blocks);
        }
        self.computed.fetch_add(1, Ordering::Relaxed);
        result.map_err(|_| HashingError::Failed)
    }
}

/// Bounded Argon2id hashing (see the module's documentation). Cheap to share: one per provider.
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with Argon2id's parameters (m = 19 MiB, t = 2, p = 1) and `limits`. No memory
    /// is allocated until the first computation.
    #[must_use]
    pub fn new(limits: HashingLimits) -> Self {
        // Constant, valid parameters: `Params::new` cannot fail on them.
        let params = Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_LEN)).unwrap_or_default();
        let workers = limits.workers.get();
        let dummy = Target {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            params: params.clone(),
            salt: crate::random::bytes::<SALT_LEN>().to_vec(),
            expected: Output::new(&crate::random::bytes::<OUTPUT_LEN>()).ok(),
        };
        Self {
            inner: Arc::new(Inner {
                admission: Arc::new(Semaphore::new(
                    workers
                        .saturating_add(limits.queue)
                        .min(Semaphore::MAX_PERMITS),
                )),
                workers: Arc::new(Semaphore::new(workers.min(Semaphore::MAX_PERMITS))),
                memory: Mutex::new(Vec::with_capacity(workers)),
                dummy,
                params,
                computed: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                buffers: AtomicUsize::new(0),
            }),
        }
    }

    /// A slot for this request's hashing, or [`HashingError::Busy`] when `workers + queue`
    /// requests already hold one. Take it before anything the refusal should not touch (a
    /// login attempt is counted only once admitted).
    pub fn admit(&self) -> Result<HashingSlot, HashingError> {
        let Ok(admitted) = Arc::clone(&self.inner.admission).try_acquire_owned() else {
            self.inner.refused.fetch_add(1, Ordering::Relaxed);
            return Err(HashingError::Busy);
        };
        Ok(HashingSlot {
            inner: Arc::clone(&self.inner),
            _admitted: admitted,
        })
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> HashingStats {
        HashingStats {
            computed: self.inner.computed.load(Ordering::Relaxed),
            refused: self.inner.refused.load(Ordering::Relaxed),
            buffers: self.inner.buffers.load(Ordering::Relaxed),
        }
    }
}

/// An admitted request's right to hash (see [`PasswordHasher::admit`]); released when dropped.
#[must_use = "a slot admits hashing only while it is held"]
pub struct HashingSlot {
    inner: Arc<Inner>,
    _admitted: OwnedSemaphorePermit,
}

impl std::fmt::Debug for HashingSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingSlot").finish_non_exhaustive()
    }
}

impl HashingSlot {
    /// Waits for a worker, then runs Argon2 for `target` on a blocking thread. The worker
    /// permit travels with the computation, so a dropped request cannot free it early.
    async fn run(
        &self,
        target: Target,
        password: &str,
    ) -> Result<Zeroizing<Vec<u8>>, HashingError> {
        let worker = Arc::clone(&self.inner.workers)
            .acquire_owned()
            .await
            .map_err(|_| HashingError::Failed)?;
        let inner = Arc::clone(&self.inner);
        let password = Zeroizing::new(password.as_bytes().to_vec());
        tokio::task::spawn_blocking(move || {
            let _worker = worker;
            let len = target.expected.as_ref().map_or(OUTPUT_LEN, Output::len);
            let mut out = Zeroizing::new(vec![0u8; len]);
            inner.compute(&target, &password, &mut out)?;
            Ok(out)
        })
        .await
        .map_err(|_| HashingError::Failed)?
    }

    /// Verifies `password` against a stored PHC string. With none (an unknown RUN, an account
    /// without a usable password) or one that cannot be computed, the dummy hash is verified
    /// instead: same work, and the answer is `false`.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashingError> {
        let capacity = self.inner.params.block_count();
        let real = stored.and_then(|phc| Target::parse(phc, capacity));
        let is_real = real.is_some();
        let target = real.unwrap_or_else(|| self.inner.dummy.clone());
        let expected = target.expected;
        let out = self.run(target, password).await?;
        let matches = expected.is_some_and(|e| bool::from(out.as_slice().ct_eq(e.as_bytes())));
        Ok(matches && is_real)
    }

    /// Hashes a new password into a PHC string (Argon2id, random salt).
    pub async fn hash(&self, password: &str) -> Result<String, HashingError> {
        let salt = crate::random::bytes::<SALT_LEN>();
        let target = Target {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            params: self.inner.params.clone(),
            salt: salt.to_vec(),
            expected: None,
        };
        let out = self.run(target, password).await?;
        let salt = SaltString::encode_b64(&salt).map_err(|_| HashingError::Failed)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.inner.params).map_err(|_| HashingError::Failed)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|_| HashingError::Failed)?),
        };
        Ok(phc.to_string())
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn limits(workers: usize, queue: usize) -> HashingLimits {
        HashingLimits {
            workers: std::num::NonZeroUsize::new(workers).unwrap(),
            queue,
        }
    }

    #[tokio::test]
    async fn argon2id_with_the_required_parameters_and_standard_phc_strings() {
        let hasher = PasswordHasher::new(limits(1, 0));
        let slot = hasher.admit().unwrap();
        let phc = slot.hash("caballo bateria grapa").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            slot.verify("caballo bateria grapa", Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !slot
                .verify("caballo bateria grapo", Some(&phc))
                .await
                .unwrap()
        );
        assert!(!slot.verify("x", Some("not a phc string")).await.unwrap());
        assert!(!slot.verify("llavero", None).await.unwrap());
        // The argon2 crate's own hashing and ours agree both ways (stored hashes stay valid).
        let argon2 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap(),
        );
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            argon2
                .verify_password(b"caballo bateria grapa", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = argon2
            .hash_password(b"ColoColo campeon", &salt)
            .unwrap()
            .to_string();
        assert!(
            slot.verify("ColoColo campeon", Some(&theirs))
                .await
                .unwrap()
        );
        // Six computations (the unparsable one and the missing one on the dummy), one buffer.
        assert_eq!(
            hasher.stats(),
            HashingStats {
                computed: 6,
                refused: 0,
                buffers: 1
            }
        );
    }

    #[tokio::test]
    async fn a_hash_needing_more_memory_than_the_buffers_is_refused_after_the_same_work() {
        let hasher = PasswordHasher::new(limits(1, 0));
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let big = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MEMORY_KIB * 2, 1, 1, None).unwrap(),
        )
        .hash_password(b"caballo bateria grapa", &salt)
        .unwrap()
        .to_string();
        let slot = hasher.admit().unwrap();
        assert!(
            !slot
                .verify("caballo bateria grapa", Some(&big))
                .await
                .unwrap()
        );
        assert_eq!(hasher.stats().computed, 1);
    }

    #[tokio::test]
    async fn the_pooled_buffer_goes_back_wiped_after_hashes_of_any_cost() {
        let hasher = PasswordHasher::new(limits(1, 0));
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        )
        .hash_password(b"caballo bateria grapa", &salt)
        .unwrap()
        .to_string();
        let slot = hasher.admit().unwrap();
        let full = slot.hash("caballo bateria grapa").await.unwrap();
        let zero = Block::default();
        let wiped = || {
            let free = hasher.inner.memory.lock().unwrap();
            assert_eq!(free.len(), 1);
            free.iter()
                .flat_map(|blocks| blocks.iter())
                .all(|block| block.as_ref() == zero.as_ref())
        };
        assert!(wiped(), "after a hash at the full cost");
        assert!(
            slot.verify("caballo bateria grapa", Some(&small))
                .await
                .unwrap()
        );
        assert!(wiped(), "after a verification at a smaller cost");
        assert!(
            slot.verify("caballo bateria grapa", Some(&full))
                .await
                .unwrap()
        );
        assert!(wiped(), "after a verification at the full cost");
    }

    #[tokio::test]
    async fn admission_beyond_workers_and_queue_is_refused_until_a_slot_frees() {
        let hasher = PasswordHasher::new(limits(1, 1));
        let first = hasher.admit().unwrap();
        let second = hasher.admit().unwrap();
        assert_eq!(hasher.admit().unwrap_err(), HashingError::Busy);
        assert_eq!(hasher.stats().refused, 1);
        drop(first);
        let third = hasher.admit().unwrap();
        drop((second, third));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_computations_reuse_at_most_one_buffer_per_worker() {
        let hasher = Arc::new(PasswordHasher::new(limits(2, 30)));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let hasher = Arc::clone(&hasher);
                tokio::spawn(async move {
                    let slot = hasher.admit().unwrap();
                    slot.verify("caballo bateria grapa", None).await.unwrap()
                })
            })
            .collect();
        for task in tasks {
            assert!(!task.await.unwrap());
        }
        let stats = hasher.stats();
        assert_eq!(stats.computed, 12);
        assert!(stats.buffers <= 2, "{stats:?}");
    }
}
