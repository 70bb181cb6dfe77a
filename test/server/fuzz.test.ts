// schemathesis fuzzes the live server: the REST API from the OpenAPI document it serves, the GraphQL schema by
// introspection. Any 500, crash, undocumented status, response off its schema or invalid input let through fails
// the test, with schemathesis' report (and curl lines reproducing each finding) as the message. hack/peers/install.sh
// puts schemathesis into .cache/venv; without it the test skips. Budget: STRATA_FUZZ_SECONDS (default 70) split
// between the two, one worker; STRATA_FUZZ_SEED picks other inputs (default fixed, so `npm test` is repeatable).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFixture, type Fixture } from './fixture.ts';

const SCHEMATHESIS = resolve('.cache/venv/bin/schemathesis');
const CONFIG = resolve('test/server/schemathesis.toml');
const SECONDS = Number(process.env.STRATA_FUZZ_SECONDS ?? 70);
const SEED = process.env.STRATA_FUZZ_SEED ?? '1';
const installed = existsSync(SCHEMATHESIS);
if (!installed) console.warn(`fuzz: no ${SCHEMATHESIS}; run bash hack/peers/install.sh (npm test does)`);

let f: Fixture;
const internal: unknown[] = [];

beforeAll(async () => {
  f = await startFixture({ onInternalError: (err) => void internal.push(err) }, undefined, { restores: {} });
});
afterAll(async () => {
  await f?.close();
});

/** Runs schemathesis against `location` for `seconds`; resolves with its exit code and output. */
function schemathesis(
  location: string,
  seconds: number,
  extra: { args?: string[]; env?: Record<string, string> } = {},
): Promise<{ code: number | null; output: string }> {
  const args = [
    '--no-color',
    '--config-file',
    CONFIG,
    'run',
    location,
    '--header',
    'Authorization: Bearer alice-token',
    '--workers',
    '1',
    '--max-examples',
    '25',
    '--max-time',
    String(Math.max(1, Math.round(seconds))),
    '--seed',
    SEED,
    '--generation-database',
    'none',
    '--request-timeout',
    '20',
    // An artifact's entry path is a pattern (no `..`, no empty or dot segments) that random strings rarely match;
    // Hypothesis then gives up on that operation ("too many examples filtered out") instead of testing what matched.
    '--suppress-health-check',
    'filter_too_much',
    ...(extra.args ?? []),
  ];
  return new Promise((done, fail) => {
    // Asynchronous: the server under test runs in this process.
    const child = spawn(SCHEMATHESIS, args, {
      cwd: f.dir,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra.env },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

describe.skipIf(!installed)('schemathesis against the live server', () => {
  test('REST, from the served OpenAPI document: no finding', { timeout: (SECONDS + 120) * 1000 }, async () => {
    const run = await schemathesis(`${f.base}/openapi.json`, SECONDS * 0.65);
    expect(run.code, run.output).toBe(0);
    expect(internal, 'errors the server logged as internal (500)').toEqual([]);
  });

  test('GraphQL, from the introspected schema: no finding', { timeout: (SECONDS + 120) * 1000 }, async () => {
    // not_a_server_error → the exact check in schemathesis_graphql_hooks.py (why: see there).
    const run = await schemathesis(`${f.base}/graphql`, SECONDS * 0.35, {
      args: ['--exclude-checks', 'not_a_server_error'],
      env: { SCHEMATHESIS_HOOKS: 'schemathesis_graphql_hooks', PYTHONPATH: resolve('test/server') },
    });
    expect(run.code, run.output).toBe(0);
    expect(internal, 'errors the server logged as internal').toEqual([]);
  });
});
