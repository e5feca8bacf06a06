// Llavero's only script: the WebAuthn calls a page cannot make without JavaScript. It reads
// what to do from the data attributes of #webauthn and talks JSON to the provider. The block is
// hidden in the page and shown here, so a browser without JavaScript never offers a button that
// does nothing. Whatever fails, the citizen reads a message of the page's own catalogue
// (#webauthn-messages), never a browser's or the server's English text.
"use strict";
(function () {
  const root = document.getElementById("webauthn");
  const messages = (document.getElementById("webauthn-messages") || { dataset: {} }).dataset;
  if (!root) { return; }
  root.hidden = false;
  const status = document.getElementById("webauthn-status");
  const say = (text) => { if (status) { status.textContent = text; } };
  if (!window.PublicKeyCredential) {
    root.querySelectorAll("button, input, label").forEach((e) => { e.hidden = true; });
    say(messages.notSupported);
    return;
  }
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));

  // This browser holds a discoverable credential of this site (a passkey made or used here). A
  // hint, not a secret: it only decides whether the passkey button is worth showing.
  const PASSKEY_HINT = "llavero.passkey";
  const rememberPasskey = () => { try { localStorage.setItem(PASSKEY_HINT, "1"); } catch (e) { /* storage off */ } };
  const passkeyHere = () => { try { return localStorage.getItem(PASSKEY_HINT) === "1"; } catch (e) { return false; } };

  function creationOptions(o) {
    const pk = o.publicKey;
    // credProps says whether the authenticator made the credential discoverable (residentKey is
    // only "preferred"), which is what the passkey hint needs to know.
    pk.extensions = Object.assign({}, pk.extensions, { credProps: true });
    pk.challenge = bin(pk.challenge);
    pk.user.id = bin(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = bin(c.id); });
    return o;
  }
  function requestOptions(o) {
    const pk = o.publicKey;
    pk.challenge = bin(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = bin(c.id); });
    return o;
  }
  function attestation(c) {
    return { id: c.id, rawId: b64(c.rawId), type: c.type, extensions: c.getClientExtensionResults(),
      response: { clientDataJSON: b64(c.response.clientDataJSON), attestationObject: b64(c.response.attestationObject) } };
  }
  function assertion(c) {
    const r = c.response;
    return { id: c.id, rawId: b64(c.rawId), type: c.type, extensions: c.getClientExtensionResults(),
      response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature),
        userHandle: r.userHandle ? b64(r.userHandle) : null } };
  }
  // A refusal from the provider: its HTTP status and its `error` (English, for developers).
  class Refused extends Error {
    constructor(status, error) { super(error); this.name = "Refused"; this.status = status; }
  }
  async function post(path, body) {
    let answer;
    try {
      answer = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
    } catch (e) {
      throw new Refused(0, "network");
    }
    const json = await answer.json().catch(() => ({}));
    if (!answer.ok) { throw new Refused(answer.status, String(json.error || "")); }
    return json;
  }
  // The message for a failure: the browser's WebAuthn errors by name (WebAuthn Level 3 §5.1.3,
  // §5.1.4), the provider's refusals by status and by the `error` its ceremony endpoints send.
  function explain(e) {
    if (e instanceof Refused) {
      const error = e.message;
      if (e.status === 0) { return messages.network; }
      if (e.status === 429) { return messages.wait; }
      if (e.status === 503) { return messages.busy; }
      if (e.status >= 500) { return messages.server; }
      if (e.status === 404) { return messages.unavailable; }
      if (error === "csrf") { return messages.formExpired; }
      if (/login required/.test(error)) { return messages.session; }
      if (/confirm with one of your keys/.test(error)) { return messages.confirmFirst; }
      if (/staff/.test(error)) { return messages.staff; }
      if (/no key to confirm/.test(error)) { return messages.noKey; }
      if (/ceremony/.test(error)) { return messages.expired; }
      if (/unknown (passkey|authenticator)/.test(error)) { return messages.unknownKey; }
      if (/cloned/.test(error)) { return messages.cloned; }
      return messages.refused;
    }
    switch (e && e.name) {
      case "NotAllowedError": return root.dataset.mode === "passkey" ? messages.notAllowedPasskey : messages.notAllowed;
      case "InvalidStateError": return messages.exists;
      case "AbortError": return messages.aborted;
      case "SecurityError": return messages.security;
      case "NotSupportedError": return messages.notSupported;
      case "ConstraintError": return messages.constraint;
      default: return messages.failed;
    }
  }
  function fail(e) {
    say(explain(e) || messages.failed || "");
  }
  const csrf = root.dataset.csrf;
  async function run() {
    say(messages.working);
    try {
      if (root.dataset.mode === "register") {
        const name = (document.getElementById("webauthn-name") || {}).value || "";
        const start = await post("/account/webauthn/register/start", { csrf });
        const credential = await navigator.credentials.create(creationOptions(start.options));
        const made = credential.getClientExtensionResults().credProps;
        const done = await post("/account/webauthn/register/finish", { csrf, ceremony: start.ceremony, name, credential: attestation(credential) });
        if (made && made.rk) { rememberPasskey(); }
        // Enrolment in the middle of an authorization goes back to it.
        window.location.assign(done.redirect || "/account?changed=1");
      } else {
        let ceremony = root.dataset.ceremony;
        let options = root.dataset.options ? JSON.parse(root.dataset.options) : null;
        if (root.dataset.mode === "passkey") {
          const start = await post("/login/passkey/start", { csrf, request: root.dataset.request || "" });
          ceremony = start.ceremony;
          options = start.options;
        }
        const credential = await navigator.credentials.get(requestOptions(options));
        const done = await post("/login/webauthn/finish", { csrf, ceremony, credential: assertion(credential) });
        if (root.dataset.mode === "passkey") { rememberPasskey(); }
        window.location.assign(done.redirect);
      }
    } catch (e) {
      fail(e);
    }
  }
  // Confirms the citizen with one of the account's keys before a factor change.
  async function confirmIdentity() {
    say(messages.working);
    try {
      const start = await post("/account/confirm/start", { csrf });
      const credential = await navigator.credentials.get(requestOptions(start.options));
      const done = await post("/account/confirm/finish", { csrf, ceremony: start.ceremony, credential: assertion(credential) });
      window.location.assign(done.redirect);
    } catch (e) {
      fail(e);
    }
  }
  const button = document.getElementById("webauthn-button");
  if (button) { button.addEventListener("click", run); }
  // The passkey button only where a passkey can answer: a browser that offers passkeys to a
  // page (conditional mediation) lists the discoverable credentials it holds for this site, and
  // a browser that made or used a passkey of this site (the hint) holds one.
  if (button && root.dataset.mode === "passkey" && !passkeyHere()) {
    button.hidden = true;
    const available = PublicKeyCredential.isConditionalMediationAvailable;
    if (available) {
      available.call(PublicKeyCredential).then((yes) => { button.hidden = !yes; }, () => {});
    }
  }
  const confirmButton = document.getElementById("webauthn-confirm");
  if (confirmButton) { confirmButton.addEventListener("click", confirmIdentity); }
})();
