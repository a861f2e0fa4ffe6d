// Runs the test suites with node's test runner (TypeScript through tsx), one process per test file.
//   node scripts/test.mjs             all suites: unit, integration, e2e
//   node scripts/test.mjs unit        *.test.ts under packages/*/src, apps/*/src, bench/ and scripts/
//   node scripts/test.mjs integration *.test.ts under packages/*/test
//   node scripts/test.mjs e2e         *.e2e.ts under e2e/ (headless Chromium)
// Extra arguments after the suite name filter files by substring.
//
// Both stores: the integration suite runs every file that touches the store twice, on SQLite and on PostgreSQL
// (PARLEY_TEST_STORE=sqlite|postgres, which startTestServer follows), each run labelled `[sqlite] path` or
// `[postgres] path`. `--store postgres` (or PARLEY_TEST_STORE in the environment) runs one store only. After each
// suite, any PostgreSQL database its tests made and did not drop is named, dropped, and fails the run.
//
// A failure never becomes a hang:
// - every test and every hook has a timeout (scripts/testDefaults.mjs; a test may set a longer one itself);
// - a file's process exits when its tests are done even if something it started lingers (`--test-force-exit`),
//   and whatever it left running (a server, a browser) is killed and named;
// - a file that runs past its suite's limit is killed with everything it started, and named.
// PARLEY_TEST_TIMEOUT_SCALE (default 1) multiplies every limit, for a slower machine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { runSuite } from './testRunner.mjs';

const scale = Number(process.env.PARLEY_TEST_TIMEOUT_SCALE ?? 1) || 1;
const seconds = (s) => Math.round(s * 1000 * scale);

const suites = {
  unit: {
    roots: ['packages', 'apps', 'bench', 'scripts'],
    match: (p) => (p.includes('/src/') || p.startsWith('bench/') || p.startsWith('scripts/')) && p.endsWith('.test.ts'),
    concurrency: 2,
    testTimeoutMs: seconds(60),
    fileTimeoutMs: seconds(180),
  },
  integration: {
    roots: ['packages'],
    match: (p) => p.includes('/test/') && p.endsWith('.test.ts'),
    concurrency: 1,
    testTimeoutMs: seconds(120),
    fileTimeoutMs: seconds(420),
  },
  e2e: {
    roots: ['e2e'],
    match: (p) => p.endsWith('.e2e.ts'),
    concurrency: 1,
    testTimeoutMs: seconds(180),
    fileTimeoutMs: seconds(600),
  },
};

const STORES = ['sqlite', 'postgres'];

/**
 * Integration files that never touch the store (read, not guessed: no server, no loadConfig, no store), so they
 * run once instead of once per store; the reason says why. Every other file, a new one included, runs on both.
 */
const STORELESS = {
  'packages/server/test/janusTopology.test.ts': 'the Janus media adapter against a real Janus; no server, no store',
  'packages/server/test/janusPool.test.ts': 'the Janus media adapter against two real Janus processes; no server, no store',
  'packages/server/test/storeOutage.test.ts': 'cuts a TCP proxy in front of PostgreSQL: always on PostgreSQL, whatever the pass',
  'packages/server/test/cli/badDatabaseUrl.test.ts': 'runs the CLI with the bad DATABASE_URLs it names, whatever the pass',
  'packages/server/test/cli/postgresCommands.test.ts': 'runs the CLI against a PostgreSQL database it makes, whatever the pass',
};

/** The tests of many nodes (test/cluster/) always run on PostgreSQL and Redis, the only store nodes can share. */
const isStoreless = (file) => file in STORELESS || file.startsWith('packages/server/test/cluster/');

/** `--store NAME` taken out of the arguments; else PARLEY_TEST_STORE; else every store. */
function chosenStores(args) {
  const at = args.indexOf('--store');
  const named = at >= 0 ? args.splice(at, 2)[1] : process.env.PARLEY_TEST_STORE?.trim() || undefined;
  if (named === undefined) return STORES;
  if (!STORES.includes(named)) {
    console.error(`unknown store "${named}"; expected one of ${STORES.join(', ')}`);
    process.exit(2);
  }
  return [named];
}

/**
 * The runs of a suite, in passes: for the integration suite one pass per store over the files that touch it,
 * with the storeless files once in the first pass; for the others one pass over their files as they are.
 */
function passesOf(name, files, stores) {
  if (name !== 'integration') return [{ name, store: null, entries: files }];
  return stores.map((store, i) => ({
    name: `${name} [${store}]`,
    store,
    entries: files
      .filter((file) => i === 0 || !isStoreless(file))
      .map((file) => (isStoreless(file) ? { file } : { file, label: `[${store}] ${file}`, env: { PARLEY_TEST_STORE: store } })),
  }));
}

/**
 * Drops the PostgreSQL databases this run's tests made and left (see dropRunDatabases) and returns a failure
 * line for each, naming the database and the run of the file that made it. When PostgreSQL cannot be reached,
 * that is a failure only if the suite ran on it; elsewhere nothing can have been left there that we could see.
 */
async function leftoverDatabases(results, ranOnPostgres) {
  const { dropRunDatabases } = await tsImport('../packages/server/test/support/postgres.ts', import.meta.url);
  let names;
  try {
    names = await dropRunDatabases(process.pid);
  } catch (err) {
    if (ranOnPostgres) return [`leftover databases not checked: ${err.message}`];
    console.log(`(leftover databases not checked: ${err.message})`);
    return [];
  }
  const byMark = new Map(results.map((r) => [r.mark, r.label]));
  return names.map((db) => {
    const [, runner, file] = /^parley_test_r(\d+)_(\d+)_/.exec(db) ?? [];
    return `database ${db} left by ${byMark.get(`${runner}-${file}`) ?? 'an unknown file'} (dropped now)`;
  });
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const [which, ...filters] = process.argv.slice(2);
const stores = chosenStores(filters);
const names = which ? [which] : Object.keys(suites);
const totals = { passed: 0, failed: 0 };
const failures = [];
const timings = [];
for (const name of names) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown suite "${name}"; expected one of ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  const files = suite.roots
    .flatMap((root) => walk(root))
    .filter(suite.match)
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  if (files.length === 0) {
    console.error(`suite ${name}: no test files found`);
    failures.push(`${name}: no test files found`);
    continue;
  }
  const passes = passesOf(name, files, stores);
  const results = [];
  for (const pass of passes) {
    console.log(
      `\n== ${pass.name}: ${pass.entries.length} file(s), ${suite.concurrency} at a time; ` +
        `each test ≤ ${suite.testTimeoutMs / 1000} s, each file ≤ ${suite.fileTimeoutMs / 1000} s`,
    );
    const started = performance.now();
    for (const result of await runSuite(name, suite, pass.entries)) {
      totals.passed += result.passed;
      totals.failed += result.failed;
      if (!result.ok) failures.push(`${result.label}${result.overran ? ' (killed: ran past its limit)' : ''}`);
      results.push(result);
    }
    timings.push(`${pass.name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  failures.push(...(await leftoverDatabases(results, passes.some((p) => p.store === 'postgres'))));
}
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed (${timings.join(', ')})`);
if (failures.length > 0) console.log(`failed files:\n${failures.map((f) => `  ${f}`).join('\n')}`);
process.exit(failures.length > 0 ? 1 : 0);
