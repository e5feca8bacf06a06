// Throughput of one HTTP request, repeated by autocannon (programmatic API). Server-agnostic:
// bench.mjs measures npm oidc-provider with it, and the same call measures Llavero.
//
//   import { measure, line } from './measure.mjs';
//   const r = await measure({ url, method: 'POST', headers, body }, { connections: 16, duration: 5 });
//   console.log(line('llavero', 'token', r));
//
// The load generator runs in the calling process: run the server in another process (bench.mjs
// forks oidc-provider), or the two share one event loop and the figure means little.
//
// measureRotating does the same for the refresh_token grant of a server that rotates refresh
// tokens: each connection owns one token family and always sends the family's newest token.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

export const DEFAULT_CONNECTIONS = 16;
export const DEFAULT_DURATION_S = 5;

function run(opts) {
  return new Promise((done, fail) => {
    autocannon(opts, (err, result) => (err ? fail(err) : done(result)));
  });
}

/** The error for a run with a failed answer: what, when, the counts and status codes. */
export function badRun(what, label, r, extra = '') {
  const codes = Object.entries(r.statusCodeStats ?? {}).map(([c, s]) => `${c}: ${s.count}`).join(', ');
  return new Error(`${what} (${label}): ${r.requests.total} requests, ${r.non2xx} non-2xx, ${r.errors} errors, ` +
    `${r.timeouts} timeouts (status codes: ${codes || 'none'})${extra}`);
}

/** What `measure` returns, from autocannon's result `r`. */
export function summary(r, connections, seconds) {
  return {
    requests_per_sec: Math.round(r.requests.average * 10) / 10,
    connections,
    duration_s: seconds,
    total: r.requests.total,
    latency_ms: { p50: r.latency.p50, p99: r.latency.p99 },
  };
}

/**
 * Repeats `target` ({ url, method = 'GET', headers = {}, body }) on `connections` keep-alive
 * connections for `duration` seconds, after a `warmup`-second run whose figures are dropped.
 * Every response must be 2xx: a non-2xx answer, a socket error or a timeout throws, so that an
 * error page's throughput is never reported. Returns
 * `{ requests_per_sec, connections, duration_s, total, latency_ms: { p50, p99 } }`.
 */
export async function measure(target, { connections = DEFAULT_CONNECTIONS, duration = DEFAULT_DURATION_S, warmup = 1 } = {}) {
  const { url, method = 'GET', headers = {}, body } = target;
  const opts = { url, method, headers, body, connections, timeout: 10 };
  for (const [seconds, label] of [[warmup, 'warm-up'], [duration, 'measure']]) {
    if (!(seconds > 0)) continue;
    const r = await run({ ...opts, duration: seconds });
    if (r.non2xx + r.errors + r.timeouts > 0 || r.requests.total === 0) throw badRun(`${method} ${url}`, label, r);
    if (label === 'measure') return summary(r, connections, duration);
  }
  throw new Error('duration must be a positive number of seconds');
}

/**
 * One autocannon run of `seconds` at the token endpoint `tokenUrl`, refresh_token grant
 * (client_secret_basic `basic`), where connection i owns `families[i]` ({ refresh }).
 *
 * autocannon 9.0.0 does give each connection its own `context`, but resets it to a copy of
 * `initialContext` every time the connection's list of requests wraps around
 * (RequestIterator.nextRequest), which for a one-request list is after every response: the
 * context cannot carry a refresh token to the next request. So `setupClient`, called once per
 * connection, gives the connection its own request whose `setupRequest` and `onResponse` close
 * over that connection's family: each request carries the family's current refresh token, each
 * 200 answer replaces it with the new one. With pipelining 1 a connection sends its next request
 * only after reading the previous answer (Client's kOnMessageComplete: onResponse, then
 * _doRequest), so a family never has two requests in flight and never replays a token. Any other
 * answer (a replayed token revokes the whole family: 400 invalid_grant) stops the run.
 *
 * When the run stops, each connection may have one request in flight: the server may have
 * rotated that family without our reading the new token, so such a family (`inFlight`) must not
 * be used again.
 */
async function runRotating(tokenUrl, basic, families, seconds) {
  const target = new URL(tokenUrl);
  const headers = { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' };
  const failures = [];
  let assigned = 0;
  let instance;
  const done = new Promise((resolveRun, rejectRun) => {
    instance = autocannon({
      url: tokenUrl,
      method: 'POST',
      headers,
      connections: families.length,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      setupClient(connection) {
        const family = families[assigned++];
        if (!family) throw new Error('more connections than refresh-token families');
        Object.assign(family, { inFlight: false, rotations: 0 });
        connection.setRequests([{
          method: 'POST',
          path: target.pathname,
          headers,
          setupRequest(req) {
            family.inFlight = true;
            const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: family.refresh }).toString();
            return { ...req, body };
          },
          onResponse(status, body) {
            family.inFlight = false;
            let json;
            try { json = JSON.parse(body); } catch { json = undefined; }
            if (status !== 200 || typeof json?.refresh_token !== 'string' || json.refresh_token === family.refresh
              || typeof json.access_token !== 'string' || typeof json.id_token !== 'string') {
              if (failures.length < 5) failures.push(`HTTP ${status}: ${String(body).slice(0, 300)}`);
              instance.stop();
              return;
            }
            family.refresh = json.refresh_token;
            family.rotations += 1;
          },
        }]);
      },
    }, (err, result) => (err ? rejectRun(err) : resolveRun(result)));
  });
  const r = await done;
  const rotations = families.reduce((n, f) => n + f.rotations, 0);
  return { r, failures, rotations };
}

/**
 * The token endpoint of a server that rotates refresh tokens: `connections` connections, each
 * with a refresh-token family of its own, for `warmup` then `duration` seconds. `newFamilies(n)`
 * gives n fresh refresh tokens (one per authorization): every run takes fresh ones, as the runs
 * before leave families with a request in flight. Every answer must be 200 with a new refresh
 * token, an access token and an ID token. `log` gets a line per run. Returns what `measure` does.
 */
export async function measureRotating(tokenUrl, basic, newFamilies, {
  connections = DEFAULT_CONNECTIONS, duration = DEFAULT_DURATION_S, warmup = 1, log = () => {},
} = {}) {
  for (const [seconds, label] of [[warmup, 'warm-up'], [duration, 'measure']]) {
    if (!(seconds > 0)) continue;
    const families = (await newFamilies(connections)).map((refresh) => ({ refresh }));
    const { r, failures, rotations } = await runRotating(tokenUrl, basic, families, seconds);
    const what = `POST ${tokenUrl} grant_type=refresh_token`;
    if (failures.length || r.non2xx + r.errors + r.timeouts > 0 || r.requests.total === 0) {
      throw badRun(what, label, r, failures.length ? `; first failures:\n  ${failures.join('\n  ')}` : '');
    }
    // Every 2xx counted by autocannon is one rotation read back (a new refresh token).
    if (rotations !== r['2xx']) throw new Error(`${what} (${label}): ${r['2xx']} answers 2xx but ${rotations} rotations`);
    const inFlight = families.filter((f) => f.inFlight).length;
    const perFamily = families.map((f) => f.rotations);
    log(`token ${label}: ${rotations} rotations read back over ${families.length} families ` +
      `(min ${Math.min(...perFamily)}, max ${Math.max(...perFamily)} each), every answer 200 with a new refresh ` +
      `token; ${inFlight} families had a request in flight at the stop (abandoned)`);
    if (label === 'measure') return summary(r, connections, seconds);
  }
  throw new Error('duration must be a positive number of seconds');
}

/** Clock ticks per second of /proc's CPU counters (`getconf CLK_TCK`, 100 on Linux). */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time (user + system) the process `pid` has used so far, in milliseconds (Linux /proc). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ", fields start at the state (field 3): utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

/**
 * Whole login flows, each from a fresh browser, measured by the CPU the server process `pid`
 * uses rather than by wall time (the load generator shares the machine). `flow()` runs one
 * flow and returns how many HTTP requests it sent to the server. After `warmup` flows, runs
 * `flows` of them on `concurrency` workers and returns
 * `{ flows, concurrency, cpu_ms_per_1000_flows, requests_per_flow, flows_per_sec }`.
 */
export async function measureFlows(pid, flow, { flows = 300, concurrency = 4, warmup = 20 } = {}) {
  for (let i = 0; i < warmup; i++) await flow();
  const requests = [];
  const started = process.hrtime.bigint();
  const before = cpuMs(pid);
  let next = 0;
  const worker = async () => {
    while (next < flows) {
      next += 1;
      requests.push(await flow());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = cpuMs(pid) - before;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sum = requests.reduce((a, b) => a + b, 0);
  return {
    flows: requests.length,
    concurrency,
    cpu_ms_per_1000_flows: Math.round((cpu * 1000) / requests.length),
    requests_per_flow: Math.round((sum / requests.length) * 100) / 100,
    flows_per_sec: Math.round((requests.length / seconds) * 10) / 10,
  };
}

/** The one-line JSON report of a measure: `{server, endpoint, requests_per_sec, connections, duration_s}` (+ `extra`). */
export function line(server, endpoint, result, extra = {}) {
  const { requests_per_sec, connections, duration_s } = result;
  return JSON.stringify({ server, endpoint, ...extra, requests_per_sec, connections, duration_s });
}

// By hand: node measure.mjs URL [--method POST] [--header 'name: value']... [--body TEXT]
//            [--server NAME] [--endpoint NAME] [--connections 16] [--duration 5]
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { values: o, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      method: { type: 'string', default: 'GET' },
      header: { type: 'string', multiple: true, default: [] },
      body: { type: 'string' },
      server: { type: 'string', default: 'llavero' },
      endpoint: { type: 'string' },
      connections: { type: 'string', short: 'c', default: String(DEFAULT_CONNECTIONS) },
      duration: { type: 'string', short: 'd', default: String(DEFAULT_DURATION_S) },
    },
  });
  if (positionals.length !== 1) {
    console.error('usage: node measure.mjs URL [--method M] [--header "name: value"]... [--body TEXT] [--server S] [--endpoint E] [-c N] [-d S]');
    process.exit(2);
  }
  const headers = Object.fromEntries(o.header.map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()]));
  const result = await measure({ url: positionals[0], method: o.method, headers, body: o.body },
    { connections: Number(o.connections), duration: Number(o.duration) });
  console.log(line(o.server, o.endpoint ?? new URL(positionals[0]).pathname, result));
}
