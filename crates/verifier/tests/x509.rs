//! Issuer keys from an `x5c` chain to a configured root (HAIP), with real certificates made by
//! rcgen: a root, an intermediate and the issuer's signing certificate. The chain that holds
//! verifies; the attacks are each refused for their own reason: the root sent in `x5c`, a
//! self-signed leaf, a chain to another root, a missing or swapped intermediate, an expired
//! certificate, an issuer the certificate does not name, a credential signed by another key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use llavero_credentials::crypto::{Algorithm, CryptoError, Signer, default_backend, system_random};
use llavero_credentials::jwk::{Jwk, PublicKey};
use llavero_credentials::jws::{self, DecodedJws, Header};
use llavero_credentials::sd_jwt::ClaimPath;
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_verifier::x509::{ChainError, X509Root};
use llavero_verifier::{Expectations, Rejection, Verifier, VerifierOptions};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::json;

use crate::fixture::{BIRTH, NOW, anchor, bundle};

const ISSUER: &str = "https://agencia.example";

/// An ES256 signer over an rcgen key (PKCS#8).
struct TestSigner {
    pair: EcdsaKeyPair,
    public: Jwk,
}

impl TestSigner {
    fn new(key: &KeyPair) -> Self {
        let pair = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &ring::rand::SystemRandom::new(),
        )
        .unwrap();
        let public = Jwk::new(PublicKey::p256_from_sec1(pair.public_key().as_ref()).unwrap());
        Self { pair, public }
    }
}

impl Signer for TestSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }
    fn public_jwk(&self) -> &Jwk {
        &self.public
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.pair
            .sign(&ring::rand::SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CryptoError::Signing("test".into()))
    }
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

fn name(cn: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, cn);
    name
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    params
}

fn root(cn: &str) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let params = ca_params(cn);
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Ca { params, key, der }
}

fn intermediate(cn: &str, parent: &Ca) -> Ca {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let params = ca_params(cn);
    let issuer = Issuer::from_params(&parent.params, &parent.key);
    let der = params.signed_by(&key, &issuer).unwrap().der().to_vec();
    Ca { params, key, der }
}

fn leaf_params(uri: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name("Agencia de pruebas");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
    params.not_before = rcgen::date_time_ymd(2025, 6, 1);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
    params
}

/// A signing certificate and its key, issued by `parent`.
fn leaf(params: &CertificateParams, parent: &Ca) -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let issuer = Issuer::from_params(&parent.params, &parent.key);
    (params.signed_by(&key, &issuer).unwrap().der().to_vec(), key)
}

/// An SD-JWT VC by `ISSUER`, signed by `key`, carrying `chain` in `x5c`.
fn credential(key: &KeyPair, chain: &[&[u8]]) -> String {
    let signer = TestSigner::new(key);
    let envelope = Envelope {
        issuer: ISSUER.into(),
        vct: BIRTH.into(),
        issued_at: Some(NOW - 100),
        not_before: None,
        expires_at: Some(NOW + 86_400),
        holder_key: None,
        status: None,
    };
    let claims = json!({"given_name": "Ana"});
    let issued = sd_jwt_vc::issue(
        &envelope,
        claims.as_object().unwrap(),
        &[ClaimPath::claim("given_name")],
        None,
        0,
        &signer,
        system_random(),
        default_backend(),
    )
    .unwrap();
    // The same payload, re-signed with the chain in the header.
    let (jwt, disclosures) = issued.split_once('~').unwrap();
    let payload = DecodedJws::decode(jwt).unwrap().unverified_value().unwrap();
    let mut header = Header::new("dc+sd-jwt");
    header.x5c = Some(chain.iter().map(|der| STANDARD.encode(der)).collect());
    let jwt = jws::sign_json(header, &payload, &signer).unwrap();
    format!("{jwt}~{disclosures}")
}

fn verifier(roots: &[&Ca]) -> Verifier {
    let roots = roots
        .iter()
        .map(|ca| {
            X509Root::from_der(
                ca.der.clone(),
                Some("Raíz de pruebas".into()),
                vec![BIRTH.into()],
            )
            .unwrap()
        })
        .collect();
    Verifier::from_bundle(
        &bundle(),
        &[anchor().public()],
        NOW,
        VerifierOptions::default(),
    )
    .unwrap()
    .with_x509_roots(roots)
}

fn chain_error(result: Result<llavero_verifier::Verification, Rejection>) -> ChainError {
    match result {
        Err(Rejection::UntrustedChain(e)) => e,
        other => panic!("expected a chain rejection, got {other:?}"),
    }
}

struct Pki {
    root: Ca,
    intermediate: Ca,
    leaf: Vec<u8>,
    key: KeyPair,
}

fn pki() -> Pki {
    let root = root("Raíz de emisores");
    let intermediate = intermediate("Intermedia", &root);
    let (leaf, key) = leaf(&leaf_params(ISSUER), &intermediate);
    Pki {
        root,
        intermediate,
        leaf,
        key,
    }
}

#[test]
fn a_chain_to_a_configured_root_verifies_with_its_authority_key_ids() {
    let p = pki();
    let sd_jwt = credential(&p.key, &[&p.leaf, &p.intermediate.der]);
    let verified = verifier(&[&p.root])
        .verify(&sd_jwt, NOW, &Expectations::default())
        .unwrap();
    let credential = &verified.credentials()[0];
    assert_eq!(credential.issuer(), ISSUER);
    assert_eq!(credential.issuer_name(), Some("Raíz de pruebas"));
    assert_eq!(credential.claims()["given_name"], "Ana");
    // The root's SKI is among the chain's key identifiers (what DCQL `aki` matches).
    let (_, root) = x509_parser::parse_x509_certificate(&p.root.der).unwrap();
    let ski = root
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.0))
            }
            _ => None,
        })
        .unwrap();
    assert!(
        credential.authority_key_ids().contains(&ski),
        "{:?}",
        credential.authority_key_ids()
    );
    // Without roots, x5c is not believed and the trust list does not know the issuer.
    let plain = Verifier::from_bundle(
        &bundle(),
        &[anchor().public()],
        NOW,
        VerifierOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        plain.verify(&sd_jwt, NOW, &Expectations::default()),
        Err(Rejection::UntrustedIssuer(_))
    ));
}

#[test]
fn the_root_is_never_in_x5c() {
    let p = pki();
    let sd_jwt = credential(&p.key, &[&p.leaf, &p.intermediate.der, &p.root.der]);
    let e = chain_error(verifier(&[&p.root]).verify(&sd_jwt, NOW, &Expectations::default()));
    assert_eq!(e, ChainError::RootInChain(2));
}

#[test]
fn a_self_signed_leaf_is_refused() {
    let p = pki();
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let selfie = leaf_params(ISSUER)
        .self_signed(&key)
        .unwrap()
        .der()
        .to_vec();
    let sd_jwt = credential(&key, &[&selfie]);
    let e = chain_error(verifier(&[&p.root]).verify(&sd_jwt, NOW, &Expectations::default()));
    assert_eq!(e, ChainError::SelfSignedLeaf);
    // Also when its issuer name is dressed up as the intermediate's.
    let mut params = leaf_params(ISSUER);
    params.distinguished_name = name("Intermedia");
    let disguised = params.self_signed(&key).unwrap().der().to_vec();
    let sd_jwt = credential(&key, &[&disguised, &p.intermediate.der]);
    let e = chain_error(verifier(&[&p.root]).verify(&sd_jwt, NOW, &Expectations::default()));
    assert_eq!(e, ChainError::SelfSignedLeaf);
}

#[test]
fn wrong_chains_are_refused() {
    let p = pki();
    let verifier = verifier(&[&p.root]);
    let expect = Expectations::default();
    // A chain to a root nobody configured, even with the same names.
    let other_root = root("Raíz de emisores");
    let other_intermediate = intermediate("Intermedia", &other_root);
    let (other_leaf, other_key) = leaf(&leaf_params(ISSUER), &other_intermediate);
    let e = chain_error(verifier.verify(
        &credential(&other_key, &[&other_leaf, &other_intermediate.der]),
        NOW,
        &expect,
    ));
    assert_eq!(e, ChainError::UnknownRoot);
    // The intermediate left out.
    let e = chain_error(verifier.verify(&credential(&p.key, &[&p.leaf]), NOW, &expect));
    assert_eq!(e, ChainError::UnknownRoot);
    // Another intermediate of the right name in its place.
    let e = chain_error(verifier.verify(
        &credential(&p.key, &[&p.leaf, &other_intermediate.der]),
        NOW,
        &expect,
    ));
    assert_eq!(e, ChainError::BrokenLink { index: 0 });
    // A leaf that is a CA.
    let mut params = leaf_params(ISSUER);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let (ca_leaf, ca_key) = leaf(&params, &p.intermediate);
    let e = chain_error(verifier.verify(
        &credential(&ca_key, &[&ca_leaf, &p.intermediate.der]),
        NOW,
        &expect,
    ));
    assert!(matches!(e, ChainError::Constraints { index: 0, .. }), "{e}");
    // A certificate that does not name the issuer.
    let (named_leaf, named_key) = leaf(&leaf_params("https://otra.example"), &p.intermediate);
    let e = chain_error(verifier.verify(
        &credential(&named_key, &[&named_leaf, &p.intermediate.der]),
        NOW,
        &expect,
    ));
    assert_eq!(e, ChainError::IssuerNotInCertificate(ISSUER.into()));
    // Expired.
    let mut params = leaf_params(ISSUER);
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2025, 1, 1);
    let (old_leaf, old_key) = leaf(&params, &p.intermediate);
    let e = chain_error(verifier.verify(
        &credential(&old_key, &[&old_leaf, &p.intermediate.der]),
        NOW,
        &expect,
    ));
    assert!(
        matches!(e, ChainError::OutsideValidity { index: 0, .. }),
        "{e}"
    );
    // Garbage and oversized chains.
    let e = chain_error(verifier.verify(&credential(&p.key, &[b"junk"]), NOW, &expect));
    assert!(matches!(e, ChainError::Malformed { index: 0, .. }), "{e}");
    let six: Vec<&[u8]> = std::iter::repeat_n(p.leaf.as_slice(), 6).collect();
    let e = chain_error(verifier.verify(&credential(&p.key, &six), NOW, &expect));
    assert_eq!(e, ChainError::Length(6));
    // A good chain, but the credential signed by another key than the leaf's.
    let stranger = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    assert_eq!(
        verifier.verify(
            &credential(&stranger, &[&p.leaf, &p.intermediate.der]),
            NOW,
            &expect
        ),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_root_must_be_a_ca() {
    let p = pki();
    assert!(matches!(
        X509Root::from_der(p.leaf.clone(), None, vec![]),
        Err(ChainError::Constraints { .. })
    ));
    assert!(X509Root::from_der(b"junk".to_vec(), None, vec![]).is_err());
}
