// The wallet's consent page: before the share form goes, the citizen confirms with one of
// their keys (the identity provider's confirmation ceremony, as on the account page). An
// account without keys is confirmed by a recent login, so its form is sent as it is.
"use strict";
(function () {
  const form = document.getElementById("share-form");
  const root = document.getElementById("confirm");
  if (!form || !root) { return; }
  const status = document.getElementById("confirm-status");
  const messages = root.dataset;
  const say = (text) => { if (status) { status.textContent = text || ""; } };
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bin = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  async function post(path, body) {
    const answer = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
    const json = await answer.json().catch(() => ({}));
    return { ok: answer.ok, status: answer.status, json };
  }
  let confirmed = false;
  form.addEventListener("submit", async (event) => {
    if (confirmed || !window.PublicKeyCredential) { return; }
    event.preventDefault();
    say(messages.working);
    const csrf = root.dataset.csrf;
    try {
      const start = await post("/account/confirm/start", { csrf });
      if (!start.ok) {
        // No key to confirm with: the server checks the login is recent instead.
        if (/no key to confirm/.test(String(start.json.error || ""))) { confirmed = true; form.submit(); return; }
        say(messages.failed);
        return;
      }
      const options = start.json.options;
      options.publicKey.challenge = bin(options.publicKey.challenge);
      (options.publicKey.allowCredentials || []).forEach((c) => { c.id = bin(c.id); });
      const c = await navigator.credentials.get(options);
      const r = c.response;
      const credential = { id: c.id, rawId: b64(c.rawId), type: c.type, extensions: c.getClientExtensionResults(),
        response: { clientDataJSON: b64(r.clientDataJSON), authenticatorData: b64(r.authenticatorData), signature: b64(r.signature),
          userHandle: r.userHandle ? b64(r.userHandle) : null } };
      const done = await post("/account/confirm/finish", { csrf, ceremony: start.json.ceremony, credential });
      if (!done.ok) { say(messages.failed); return; }
      confirmed = true;
      form.submit();
    } catch (e) {
      say(messages.failed);
    }
  });
})();
