// Runs the test suites with node's test runner (TypeScript through tsx).
//   node scripts/test.mjs            all suites: unit, integration, e2e
//   node scripts/test.mjs unit       *.test.ts under packages/*/src
//   node scripts/test.mjs integration *.test.ts under packages/*/test
//   node scripts/test.mjs e2e        *.e2e.ts under e2e/ (headless Chromium)
// Extra arguments after the suite name filter files by substring.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const suites = {
  unit: {
    roots: ['packages', 'apps', 'bench'],
    match: (p) => (p.includes('/src/') || p.startsWith('bench/')) && p.endsWith('.test.ts'),
    concurrency: 2,
  },
  integration: { roots: ['packages'], match: (p) => p.includes('/test/') && p.endsWith('.test.ts'), concurrency: 1 },
  e2e: { roots: ['e2e'], match: (p) => p.endsWith('.e2e.ts'), concurrency: 1 },
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
let failed = false;
const totals = { passed: 0, failed: 0 };
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
    failed = true;
    continue;
  }
  console.log(`\n== ${name}: ${files.length} file(s)`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${suite.concurrency}`, '--test-reporter=spec', ...files],
    { stdio: ['inherit', 'pipe', 'inherit'], env: { ...process.env, PARLEY_TEST_SUITE: name } },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    out = (out + chunk.toString()).slice(-4096); // the closing lines are all we read
  });
  const status = await new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const count = (label) => Number(out.match(new RegExp(`^\\S* ?${label} (\\d+)$`, 'm'))?.[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail');
  if (status !== 0) failed = true;
}
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed`);
process.exit(failed ? 1 : 0);
