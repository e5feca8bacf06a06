#!/usr/bin/env python3
"""Refresh-token rotation load for the crash test (crash.sh), standard library only.

    rotate.py BASE CLIENT_ID CLIENT_SECRET RUN PASSWORD REDIRECT_URI FAMILIES SECONDS

Logs the citizen in once (login form, consent), then takes FAMILIES authorizations (the
session and the remembered consent answer each straight to the callback) and exchanges each
code, so every worker owns one refresh-token family. For SECONDS each worker rotates its family
as fast as it can, always sending the refresh token of its last answer, as a client does.

When the server dies, a request gets no answer; the worker retries the same token (the only one
it has) until the server answers again. If the server had committed that rotation before it
died, the retry presents a spent token: within the grace window it must get a fresh pair, not
revoke the family. After SECONDS, every worker rotates once more with its last token, which must
work. Any refusal (invalid_grant: the family is revoked) is a failure.

Prints one JSON object on stdout: rotations done, requests retried after the server was gone,
and the families refused (with the error). Exits 1 if any family was refused, 2 on setup errors.
"""

import base64
import hashlib
import http.client
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse

RETRY_FOR = 60.0
"""Seconds a worker keeps retrying a request the server does not answer (it is restarting)."""


class Http:
    """One keep-alive connection to BASE, with a cookie jar and no redirect following."""

    def __init__(self, base):
        self.url = urllib.parse.urlsplit(base)
        self.cookies = {}
        self.conn = None

    def request(self, method, path, form=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers.get("Location", ""), data


def hidden(page, name):
    found = re.search(f'name="{name}" value="([^"]*)"', page)
    if not found:
        raise SystemExit(f"setup: no hidden {name} in the page")
    return found.group(1)


def path_of(location):
    parts = urllib.parse.urlsplit(location)
    return parts.path + ("?" + parts.query if parts.query else "")


def expect(status, wanted, what, body):
    if status != wanted:
        print(f"setup: {what}: expected {wanted}, got {status}: {body[:300]}", file=sys.stderr)
        sys.exit(2)


def submit(browser, location, path, fields):
    """If `location` is the page at `path`, fills its form (CSRF token and request id) with
    `fields` and returns where the answer redirects; otherwise returns `location`."""
    if urllib.parse.urlsplit(location).path != path:
        return location
    status, _, page = browser.request("GET", path_of(location))
    expect(status, 200, f"GET {path}", page)
    form = {"csrf": hidden(page, "csrf"), "request": hidden(page, "request"), **fields}
    status, location, body = browser.request("POST", path, form)
    expect(status, 303, f"POST {path}", body)
    return location


def families(base, client, run, password, redirect_uri, count):
    """Logs in once and returns `count` refresh tokens, one per authorization."""
    browser = Http(base)
    tokens = []
    for _ in range(count):
        verifier = secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urllib.parse.urlencode({
            "client_id": client[0], "response_type": "code", "redirect_uri": redirect_uri,
            "scope": "openid", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
        })
        status, location, body = browser.request("GET", f"/authorize?{query}")
        expect(status, 303, "GET /authorize", body)
        location = submit(browser, location, "/login", {"run": run, "password": password})
        location = submit(browser, location, "/consent", {"decision": "allow"})
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if not code:
            print(f"setup: no code in {location}", file=sys.stderr)
            sys.exit(2)
        status, _, body = Http(base).request("POST", "/token", {
            "grant_type": "authorization_code", "code": code[0], "redirect_uri": redirect_uri,
            "code_verifier": verifier}, {"Authorization": basic(client)})
        expect(status, 200, "code grant", body)
        tokens.append(json.loads(body)["refresh_token"])
    return tokens


def basic(client):
    pair = f"{urllib.parse.quote(client[0])}:{urllib.parse.quote(client[1])}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


class Family:
    """A worker's refresh-token family and what happened to it."""

    def __init__(self, base, client, token):
        self.http = Http(base)
        self.auth = basic(client)
        self.token = token
        self.rotations = 0
        self.retries = 0
        self.refused = None

    def rotate(self):
        """Rotates the family's token, retrying while the server is gone. False if refused."""
        gone_since = None
        while True:
            try:
                status, _, body = self.http.request(
                    "POST", "/token", {"grant_type": "refresh_token", "refresh_token": self.token},
                    {"Authorization": self.auth})
            except (OSError, http.client.HTTPException):
                status, body = None, ""
            if status == 200:
                self.token = json.loads(body)["refresh_token"]
                self.rotations += 1
                return True
            if status is None or status >= 500:
                gone_since = gone_since or time.monotonic()
                if time.monotonic() - gone_since > RETRY_FOR:
                    self.refused = f"no answer for {RETRY_FOR} s"
                    return False
                self.retries += 1
                time.sleep(0.05)
                continue
            self.refused = f"{status} {body[:200]}"
            return False

    def run(self, deadline):
        while time.monotonic() < deadline:
            if not self.rotate():
                return
        # The last token, after the load (and after any crash), still works.
        self.rotate()


def main(argv):
    if len(argv) != 9:
        print(__doc__, file=sys.stderr)
        return 2
    base, client_id, secret, run, password, redirect_uri, count, seconds = argv[1:]
    client = (client_id, secret)
    tokens = families(base, client, run, password, redirect_uri, int(count))
    print(f"rotate.py: {len(tokens)} families, rotating for {seconds} s", file=sys.stderr)
    workers = [Family(base, client, token) for token in tokens]
    deadline = time.monotonic() + float(seconds)
    threads = [threading.Thread(target=w.run, args=(deadline,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [w.refused for w in workers if w.refused]
    print(json.dumps({
        "families": len(workers),
        "rotations": sum(w.rotations for w in workers),
        "retried_requests": sum(w.retries for w in workers),
        "families_retried": sum(1 for w in workers if w.retries),
        "refused": refused,
    }))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
