-- WebAuthn attestation: a credential whose attestation chained to a trusted CA with an allowed
-- AAGUID at registration keeps which (the CA's SHA-256 key id, hex, and the AAGUID); the login
-- reaches eIDAS high with it only while that pair is still on the configured allow-list.
-- Staff accounts may only register such credentials.

ALTER TABLE webauthn_credentials ADD COLUMN attestation_ca TEXT;
ALTER TABLE webauthn_credentials ADD COLUMN attestation_aaguid TEXT;
ALTER TABLE accounts ADD COLUMN staff BIGINT NOT NULL DEFAULT 0;
