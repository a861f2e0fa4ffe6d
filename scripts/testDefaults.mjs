// Preloaded into every test process by scripts/test.mjs. Two things that otherwise turn a failure into a hang:
//
// 1. Every test and every hook gets a timeout (PARLEY_TEST_TIMEOUT_MS) unless it sets its own, so a test that
//    waits for something that never comes fails with its name instead of holding the run. Node 20's
//    `--test-timeout` bounds only a whole file under `--test`; this bounds each test. `node:test` is a builtin,
//    so the ESM named imports follow the patched functions once syncBuiltinESMExports() has run.
// 2. A failed `assert.ok(value)` without a message no longer makes node quote the source: for that, node reads
//    the file named in the stack at the compiled line and column, which in a TypeScript file run through tsx
//    point into different text, and re-parses it from every token (seen: one failed assert.ok spent 112 s of
//    CPU building its message, with the event loop blocked). The message says what it got; the stack says where.
import assert from 'node:assert';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { inspect } from 'node:util';

const require = createRequire(import.meta.url);
const nodeTest = require('node:test');
const timeout = Number(process.env.PARLEY_TEST_TIMEOUT_MS ?? 0);

/** `test(name?, options?, fn?)` with `timeout` defaulted in the options. */
function defaultTestTimeout(original) {
  const wrapped = (...args) => {
    const at = args.findIndex((a) => typeof a === 'object' && a !== null);
    if (at >= 0) args[at] = { timeout, ...args[at] };
    else args.splice(typeof args[0] === 'string' ? 1 : 0, 0, { timeout });
    return original(...args);
  };
  return Object.assign(wrapped, original);
}

/** `before(fn, options?)` with `timeout` defaulted in the options. */
function defaultHookTimeout(original) {
  return (fn, options) => original(fn, { timeout, ...options });
}

if (timeout > 0) {
  for (const name of ['test', 'it']) nodeTest[name] = defaultTestTimeout(nodeTest[name]);
  for (const name of ['before', 'after', 'beforeEach', 'afterEach']) nodeTest[name] = defaultHookTimeout(nodeTest[name]);
  syncBuiltinESMExports();
}

/** `assert.ok(value, message?)` that, without a message, names the value it got instead of quoting the source. */
function ok(...args) {
  if (args.length !== 1) return original(...args);
  if (args[0]) return;
  throw new assert.AssertionError({
    message: `expected a truthy value, got ${inspect(args[0], { depth: 2, breakLength: Infinity })}`,
    actual: args[0],
    expected: true,
    operator: '==',
    stackStartFn: ok,
  });
}
const original = assert.ok;
assert.ok = ok;
assert.strict.ok = ok;
syncBuiltinESMExports();
