// Runs the test suites with node's test runner (TypeScript through tsx), one process per test file.
//   node scripts/test.mjs             all suites: unit, integration, e2e
//   node scripts/test.mjs unit        *.test.ts under packages/*/src, apps/*/src, bench/ and scripts/
//   node scripts/test.mjs integration *.test.ts under packages/*/test
//   node scripts/test.mjs e2e         *.e2e.ts under e2e/ (headless Chromium)
// Extra arguments after the suite name filter files by substring.
//
// A failure never becomes a hang:
// - every test and every hook has a timeout (scripts/testDefaults.mjs; a test may set a longer one itself);
// - a file's process exits when its tests are done even if something it started lingers (`--test-force-exit`),
//   and whatever it left running (a server, a browser) is killed and named;
// - a file that runs past its suite's limit is killed with everything it started, and named.
// PARLEY_TEST_TIMEOUT_SCALE (default 1) multiplies every limit, for a slower machine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
  console.log(
    `\n== ${name}: ${files.length} file(s), ${suite.concurrency} at a time; ` +
      `each test ≤ ${suite.testTimeoutMs / 1000} s, each file ≤ ${suite.fileTimeoutMs / 1000} s`,
  );
  const started = performance.now();
  for (const result of await runSuite(name, suite, files)) {
    totals.passed += result.passed;
    totals.failed += result.failed;
    if (!result.ok) failures.push(`${result.file}${result.overran ? ' (killed: ran past its limit)' : ''}`);
  }
  timings.push(`${name} ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed (${timings.join(', ')})`);
if (failures.length > 0) console.log(`failed files:\n${failures.map((f) => `  ${f}`).join('\n')}`);
process.exit(failures.length > 0 ? 1 : 0);
