//! Randomness for secrets: session ids, codes, tokens, salts. All from the operating system's
//! generator (through ring), never from a seeded one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom as _, SystemRandom};

/// `N` random bytes. The system generator does not fail on supported platforms; if it ever
/// did, a zeroed buffer would be unsafe, so this aborts the request's task instead.
#[must_use]
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if SystemRandom::new().fill(&mut out).is_err() {
        // Unreachable on supported platforms; refusing to continue is the only safe answer.
        std::process::abort();
    }
    out
}

/// A 256-bit random token, base64url: codes, access and refresh tokens, session ids.
#[must_use]
pub fn token() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<32>())
}

/// A 128-bit random identifier, base64url: grants, request ids, session handles.
#[must_use]
pub fn id() -> String {
    URL_SAFE_NO_PAD.encode(bytes::<16>())
}

/// A one-time activation code a person types: 12 characters from an alphabet without look-alikes
/// (about 60 bits; it is single-use, expires, and sits behind rate limits and the RUN and
/// document serial), shown in groups of four.
#[must_use]
pub fn activation_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let raw = bytes::<12>();
    let mut out = String::with_capacity(14);
    for (i, b) in raw.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(
            ALPHABET
                .get(usize::from(*b) % ALPHABET.len())
                .copied()
                .unwrap_or(b'A'),
        ));
    }
    out
}

/// Normalizes a typed activation code: case and separators do not matter.
#[must_use]
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
