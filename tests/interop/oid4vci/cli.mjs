// Shared by flow.mjs and authorization_code.mjs: a failing check, and the llavero CLI run on the
// server's database (same data dir and issuer as the server under test).
import { spawnSync } from 'node:child_process';

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** `run(...args)` gives {status, stdout, stderr}; `must(...args)` gives stdout or throws. */
export function llaveroCli(bin, dataDir, base) {
  const run = (...args) => {
    const r = spawnSync(bin, args, {
      env: { ...process.env, LLAVERO_DATA_DIR: dataDir, LLAVERO_ISSUER: base },
      encoding: 'utf8',
    });
    if (r.error) throw new Error(`llavero ${args.join(' ')}: ${r.error.message}`);
    return r;
  };
  const must = (...args) => {
    const r = run(...args);
    if (r.status !== 0) throw new Error(`llavero ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  return { run, must };
}
