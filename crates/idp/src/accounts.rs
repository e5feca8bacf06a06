//! Account operations: activation codes, activation, password login with lockout, password
//! change. Answers never tell whether a RUN has an account: unknown RUNs get the same message,
//! the same Argon2id work (through the same bounded hasher, [`crate::hashing`]) and the same
//! failure counting.

use llavero_store::{
    ActivationCode, AttemptReservation, LoginSubject, PersonStatus, StoreError, hash_secret,
};
use subtle::ConstantTimeEq as _;

use crate::hashing::HashingError;
use crate::password::{self, PasswordError};
use crate::registry::Run;
use crate::state::Idp;

/// Why an operator could not issue an activation code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationCodeError {
    /// The RUN is not in the registry.
    #[error("{0} is not in the civil registry")]
    NotInRegistry(Run),
    /// The person is deceased or blocked.
    #[error("{run} is {status} in the civil registry")]
    NotActive {
        /// The RUN.
        run: Run,
        /// The registry status.
        status: &'static str,
    },
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new activation code, to hand to the citizen (shown once, stored hashed).
#[derive(Debug, Clone)]
pub struct IssuedActivationCode {
    /// The RUN.
    pub run: Run,
    /// The code.
    pub code: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

/// Issues a one-time activation code for a RUN that is `active` in the registry, replacing any
/// earlier code. Also how a password is reset.
pub async fn issue_activation_code(
    idp: &Idp,
    run: Run,
) -> Result<IssuedActivationCode, ActivationCodeError> {
    let person = idp
        .store
        .person(i64::from(run.number()))
        .await?
        .ok_or(ActivationCodeError::NotInRegistry(run))?;
    if person.status != PersonStatus::Active {
        return Err(ActivationCodeError::NotActive {
            run,
            status: person.status.as_str(),
        });
    }
    let code = crate::random::activation_code();
    let now = idp.now();
    let expires_at = now + idp.config.activation_code_secs;
    idp.store
        .put_activation_code(
            &ActivationCode {
                run: person.run,
                code_hash: hash_secret(&crate::random::normalize_code(&code)),
                expires_at,
            },
            now,
        )
        .await?;
    Ok(IssuedActivationCode {
        run,
        code,
        expires_at,
    })
}

/// Why an activation failed, as the citizen may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationFailure {
    /// The RUN is malformed.
    BadRun,
    /// The new password breaks the policy.
    Password(PasswordError),
    /// RUN, code or serial do not match (one answer for every case).
    Mismatch,
    /// Every password hashing worker is busy and the queue is full: nothing was checked or
    /// changed; try again after [`crate::hashing::BUSY_RETRY_AFTER_SECS`].
    Busy,
}

impl From<HashingError> for ActivationFailure {
    fn from(error: HashingError) -> Self {
        match error {
            HashingError::Busy => Self::Busy,
            HashingError::Failed => Self::Password(PasswordError::Hashing),
        }
    }
}

/// Activates an account (or resets its password): RUN + code + document serial, then the new
/// password. The password is hashed before anything is looked up, so every answer costs the
/// same time.
pub async fn activate(
    idp: &Idp,
    run: &str,
    code: &str,
    serial: &str,
    new_password: &str,
    confirmation: &str,
) -> Result<Result<String, ActivationFailure>, StoreError> {
    let Ok(run) = run.parse::<Run>() else {
        return Ok(Err(ActivationFailure::BadRun));
    };
    if let Err(e) = password::check_policy(new_password, confirmation) {
        return Ok(Err(ActivationFailure::Password(e)));
    }
    let hashed = match idp.hasher.admit() {
        Ok(slot) => slot.hash(new_password).await,
        Err(busy) => Err(busy),
    };
    let hashed = match hashed {
        Ok(hashed) => hashed,
        Err(e) => return Ok(Err(e.into())),
    };
    let number = i64::from(run.number());
    let now = idp.now();
    let stored = idp.store.activation_code(number).await?;
    let person = idp.store.person(number).await?;
    let presented = hash_secret(&crate::random::normalize_code(code));
    let code_ok = stored.as_ref().is_some_and(|c| {
        c.expires_at > now && bool::from(c.code_hash.as_bytes().ct_eq(presented.as_bytes()))
    });
    let serial_ok = person.as_ref().is_some_and(|p| {
        p.status == PersonStatus::Active
            && bool::from(
                p.document_serial
                    .as_bytes()
                    .ct_eq(serial.trim().to_ascii_uppercase().as_bytes()),
            )
    });
    let (Some(stored), true, true) = (stored, code_ok, serial_ok) else {
        idp.store
            .record_login_failure(&format!("activation:{number}"), None, i64::MAX, now)
            .await?;
        return Ok(Err(ActivationFailure::Mismatch));
    };
    match idp
        .store
        .activate_account(&stored, &crate::random::id(), &hashed, now)
        .await?
    {
        Some(account) => Ok(Ok(account.id)),
        None => Ok(Err(ActivationFailure::Mismatch)),
    }
}

/// The result of a password login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password is right and the account usable.
    Success {
        /// The account.
        account_id: String,
    },
    /// The RUN is malformed (says nothing about accounts).
    BadRun,
    /// Wrong RUN or password, or an account that cannot log in: one answer for all. The
    /// account, if the RUN has one, is for the audit trail only.
    Failed {
        /// The account of the typed RUN, if any.
        account_id: Option<String>,
    },
    /// Too many consecutive failures: wait.
    Wait {
        /// Seconds.
        retry_after: i64,
    },
    /// Locked after the maximum number of failures; a new activation code unlocks.
    Locked,
    /// Every password hashing worker is busy and the queue is full: nothing was checked or
    /// counted; try again after [`crate::hashing::BUSY_RETRY_AFTER_SECS`].
    Busy,
}

/// The wait after `failures` consecutive failures: none for the first few, then doubling up to
/// fifteen minutes.
#[must_use]
pub fn delay_after(failures: i64) -> i64 {
    if failures < 5 {
        0
    } else {
        let exponent = u32::try_from((failures - 5).min(20)).unwrap_or(20);
        2_i64.saturating_pow(exponent).min(900)
    }
}

/// The lockout policy over a login subject's counter: the lock threshold and the delay
/// schedule ([`delay_after`]).
#[derive(Debug, Clone, Copy)]
struct LoginPolicy {
    lock_after: i64,
}

/// Why the policy refuses an attempt now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Locked,
    Wait(i64),
}

impl LoginPolicy {
    /// Whether an attempt may be evaluated at `now` on `counter`.
    fn refusal(self, counter: &LoginSubject, now: i64) -> Option<Refusal> {
        if counter.failures >= self.lock_after {
            return Some(Refusal::Locked);
        }
        let wait = counter.last_failed_at + delay_after(counter.failures) - now;
        (wait > 0).then_some(Refusal::Wait(wait))
    }
}

impl From<Refusal> for LoginOutcome {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Locked => Self::Locked,
            Refusal::Wait(retry_after) => Self::Wait { retry_after },
        }
    }
}

/// Checks a RUN and password.
///
/// The attempt is counted before the password is evaluated, by one conditional write in the
/// database ([`llavero_store::Store::reserve_login_attempt`]): concurrent attempts, on any
/// instance, are each judged on the count the previous one left, so a delay lets one attempt
/// through and the counter never passes the lock. A success then clears the count.
///
/// Before that, the request takes a hashing slot ([`crate::hashing::PasswordHasher::admit`]): when
/// the hasher is saturated the answer is [`LoginOutcome::Busy`] and nothing is counted, so an
/// overload cannot lock citizens out.
pub async fn authenticate(
    idp: &Idp,
    run: &str,
    password: &str,
) -> Result<LoginOutcome, StoreError> {
    let Ok(run) = run.parse::<Run>() else {
        return Ok(LoginOutcome::BadRun);
    };
    let number = i64::from(run.number());
    let subject = number.to_string();
    let Ok(slot) = idp.hasher.admit() else {
        return Ok(LoginOutcome::Busy);
    };
    let now = idp.now();
    let policy = LoginPolicy {
        lock_after: idp.config.lock_after_failures,
    };
    let reserved = match idp
        .store
        .reserve_login_attempt(&subject, now, |c| policy.refusal(c, now).is_none())
        .await?
    {
        AttemptReservation::Reserved(counter) => counter,
        AttemptReservation::Refused(counter) => {
            return Ok(policy
                .refusal(&counter, now)
                .map_or(LoginOutcome::Wait { retry_after: 1 }, LoginOutcome::from));
        }
        AttemptReservation::Contended => return Ok(LoginOutcome::Wait { retry_after: 1 }),
    };
    let account = idp.store.account_by_run(number).await?;
    let person = idp.store.person(number).await?;
    let usable = account.as_ref().filter(|a| {
        a.disabled_at.is_none()
            && a.locked_at.is_none()
            && person
                .as_ref()
                .is_some_and(|p| p.status == PersonStatus::Active)
    });
    let stored = usable.and_then(|a| a.password_hash.clone());
    let typed = zeroize::Zeroizing::new(
        password
            .chars()
            .take(password::MAX_LEN + 1)
            .collect::<String>(),
    );
    // The same computation for every RUN: with no usable stored hash the slot verifies the
    // dummy one. A failed computation counts as a wrong password.
    let ok = slot
        .verify(&typed, stored.as_deref())
        .await
        .unwrap_or(false);
    if let (true, Some(account)) = (ok, usable) {
        idp.store.clear_login_failures(&subject).await?;
        return Ok(LoginOutcome::Success {
            account_id: account.id.clone(),
        });
    }
    // The failure is already counted; the attempt that reached the threshold locks the account.
    if reserved.failures >= policy.lock_after {
        if let Some(account) = &account {
            idp.store.lock_account_of_run(account.run, now).await?;
        }
        tracing::warn!(run = %run, "login locked after consecutive failures");
    }
    Ok(LoginOutcome::Failed {
        account_id: account.map(|a| a.id),
    })
}

/// Changes the password of a logged-in account after checking the current one.
pub async fn change_password(
    idp: &Idp,
    account_id: &str,
    current: &str,
    new_password: &str,
    confirmation: &str,
) -> Result<Result<(), ActivationFailure>, StoreError> {
    if let Err(e) = password::check_policy(new_password, confirmation) {
        return Ok(Err(ActivationFailure::Password(e)));
    }
    let Some(account) = idp.store.account(account_id).await? else {
        return Ok(Err(ActivationFailure::Mismatch));
    };
    let slot = match idp.hasher.admit() {
        Ok(slot) => slot,
        Err(e) => return Ok(Err(e.into())),
    };
    match slot.verify(current, account.password_hash.as_deref()).await {
        Ok(true) => {}
        Ok(false) => return Ok(Err(ActivationFailure::Mismatch)),
        Err(e) => return Ok(Err(e.into())),
    }
    let hashed = match slot.hash(new_password).await {
        Ok(hashed) => hashed,
        Err(e) => return Ok(Err(e.into())),
    };
    idp.store.set_password(account_id, &hashed).await?;
    Ok(Ok(()))
}

/// A staff mark set or cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffChange {
    /// The account.
    pub account_id: String,
    /// Its authenticators whose attestation is not on the allow-list: they keep working as
    /// second factors; the operator may want them replaced.
    pub unattested_keys: usize,
}

/// Marks (or unmarks) the account of `run` as staff: from then on it may register only
/// authenticators whose attestation is on the allow-list. Recorded in the audit trail.
/// `None` if `run` has no account.
///
/// # Errors
/// The store's.
pub async fn set_staff(
    idp: &Idp,
    run: Run,
    staff: bool,
) -> Result<Option<StaffChange>, StoreError> {
    let Some(account_id) = idp.store.set_staff(i64::from(run.number()), staff).await? else {
        return Ok(None);
    };
    let keys = idp.store.webauthn_credentials(&account_id).await?;
    let policy = idp.config.webauthn_attestation.as_ref();
    let unattested_keys = keys
        .iter()
        .filter(|k| {
            !k.attestation
                .as_ref()
                .is_some_and(|a| policy.is_some_and(|p| p.allows(a)))
        })
        .count();
    crate::audit::record(
        idp,
        &crate::audit::Origin::default(),
        "account.staff",
        Some(&account_id),
        None,
        serde_json::json!({"staff": staff}),
    )
    .await;
    Ok(Some(StaffChange {
        account_id,
        unattested_keys,
    }))
}
