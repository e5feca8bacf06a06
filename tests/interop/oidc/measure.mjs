// Throughput of one HTTP request, repeated by autocannon (programmatic API). Server-agnostic:
// bench.mjs measures npm oidc-provider with it, and the same call measures Llavero.
//
//   import { measure, line } from './measure.mjs';
//   const r = await measure({ url, method: 'POST', headers, body }, { connections: 16, duration: 5 });
//   console.log(line('llavero', 'token', r));
//
// The load generator runs in the calling process: run the server in another process (bench.mjs
// forks oidc-provider), or the two share one event loop and the figure means little.
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
    const bad = r.non2xx + r.errors + r.timeouts;
    if (bad > 0 || r.requests.total === 0) {
      const codes = Object.entries(r.statusCodeStats ?? {}).map(([c, s]) => `${c}: ${s.count}`).join(', ');
      throw new Error(`${method} ${url} (${label}): ${r.requests.total} requests, ${r.non2xx} non-2xx, ` +
        `${r.errors} errors, ${r.timeouts} timeouts (status codes: ${codes || 'none'})`);
    }
    if (label === 'measure') {
      return {
        requests_per_sec: Math.round(r.requests.average * 10) / 10,
        connections,
        duration_s: duration,
        total: r.requests.total,
        latency_ms: { p50: r.latency.p50, p99: r.latency.p99 },
      };
    }
  }
  throw new Error('duration must be a positive number of seconds');
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
