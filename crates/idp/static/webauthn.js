// Llavero's only script: the WebAuthn calls a page cannot make without JavaScript. It reads
// what to do from the data attributes of #webauthn and talks JSON to the provider.
"use strict";
(function () {
  const root = document.getElementById("webauthn");
  if (!root || !window.PublicKeyCredential) {
    if (root) { root.hidden = true; }
    return;
  }
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const status = document.getElementById("webauthn-status");
  const say = (text) => { if (status) { status.textContent = text; } };

  function creationOptions(o) {
    const pk = o.publicKey;
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
  async function post(path, body) {
    const answer = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
    const json = await answer.json().catch(() => ({}));
    if (!answer.ok) { throw new Error(json.error || answer.status); }
    return json;
  }
  const csrf = root.dataset.csrf;
  async function run() {
    try {
      if (root.dataset.mode === "register") {
        const name = (document.getElementById("webauthn-name") || {}).value || "";
        const start = await post("/account/webauthn/register/start", { csrf });
        const credential = await navigator.credentials.create(creationOptions(start.options));
        const done = await post("/account/webauthn/register/finish", { csrf, ceremony: start.ceremony, name, credential: attestation(credential) });
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
        window.location.assign(done.redirect);
      }
    } catch (e) {
      say(root.dataset.failed + " (" + e.message + ")");
    }
  }
  // Confirms the citizen with one of the account's keys before a factor change.
  async function confirmIdentity() {
    try {
      const start = await post("/account/confirm/start", { csrf });
      const credential = await navigator.credentials.get(requestOptions(start.options));
      const done = await post("/account/confirm/finish", { csrf, ceremony: start.ceremony, credential: assertion(credential) });
      window.location.assign(done.redirect);
    } catch (e) {
      say(root.dataset.failed + " (" + e.message + ")");
    }
  }
  const button = document.getElementById("webauthn-button");
  if (button) { button.addEventListener("click", run); }
  // The passkey button only where a passkey can answer: a browser that offers passkeys to a
  // page (conditional mediation) lists the discoverable credentials it holds for this site.
  if (button && root.dataset.mode === "passkey") {
    button.hidden = true;
    const available = PublicKeyCredential.isConditionalMediationAvailable;
    if (available) {
      available.call(PublicKeyCredential).then((yes) => { button.hidden = !yes; }, () => {});
    }
  }
  const confirmButton = document.getElementById("webauthn-confirm");
  if (confirmButton) { confirmButton.addEventListener("click", confirmIdentity); }
})();
