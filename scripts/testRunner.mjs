// Runs test files, each in its own process, so that no failure can hold the run (see scripts/test.mjs):
// a timeout on every test and hook (testDefaults.mjs), a limit on every file (killed past it, with
// everything it started, and named), and a sweep of whatever a file left running.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEFAULTS = join(dirname(fileURLToPath(import.meta.url)), 'testDefaults.mjs');

let runs = 0;
/** A mark in the environment of one test file's process, inherited by everything it starts. */
const newMark = () => `${process.pid}-${++runs}`;

/**
 * Processes carrying `mark` in their environment (Linux /proc), with their names: a file's process and all
 * it started, found even after their parent exited and init adopted them. Empty where /proc is missing.
 */
function marked(mark) {
  if (process.platform !== 'linux') return [];
  const needle = `PARLEY_TEST_RUN=${mark}\0`;
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state …" with a zombie's state 'Z': already dead, only waiting to be reaped.
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      found.push({ pid: Number(entry), name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Kills the process group of `pid` and every process carrying `mark`; returns what it found alive. */
function killAll(pid, mark) {
  const left = marked(mark);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone
  }
  for (const { pid: p } of left) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  return left;
}

/** A count from node's closing summary: the last such line, since a file's own output may hold others before it. */
const count = (out, label) => Number([...out.matchAll(new RegExp(`^\\S* ?${label} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);

/** Runs one test file in its own process; resolves with what it printed and how it ended. */
export function runFile(file, { testTimeoutMs, fileTimeoutMs, env = {}, live = false }) {
  const started = performance.now();
  const mark = newMark();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', DEFAULTS, '--test-reporter=spec', '--test-force-exit', file],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...env, PARLEY_TEST_TIMEOUT_MS: String(testTimeoutMs), PARLEY_TEST_RUN: mark },
    },
  );
  // Tests are declared through the timeout defaults, so node places them there: name the file instead.
  const defaults = new RegExp(`\\S*${'scripts/testDefaults.mjs'.replace(/[.]/g, '\\.')}(:\\d+:\\d+)?`, 'g');
  let out = '';
  const take = (stream, target) => {
    let partial = '';
    const flush = (text) => {
      const fixed = text.replace(defaults, file);
      out += fixed;
      if (live) target.write(fixed);
    };
    stream.on('data', (chunk) => {
      const text = partial + chunk.toString();
      const end = text.lastIndexOf('\n') + 1;
      partial = text.slice(end);
      if (end > 0) flush(text.slice(0, end));
    });
    stream.on('end', () => partial && flush(partial));
  };
  take(child.stdout, process.stdout);
  take(child.stderr, process.stderr);
  let overran = false;
  const watchdog = setTimeout(() => {
    overran = true;
    const note = `\n[test] ${file} ran past ${Math.round(fileTimeoutMs / 1000)} s: killed with everything it started\n`;
    out += note;
    if (live) process.stdout.write(note);
    killAll(child.pid, mark);
  }, fileTimeoutMs);
  return new Promise((resolve) => {
    // 'exit', not 'close': a grandchild that kept our pipes open must not keep us waiting.
    child.once('exit', (code, signal) => {
      clearTimeout(watchdog);
      const left = killAll(child.pid, mark).filter(({ name }) => name !== 'esbuild'); // tsx's compiler service
      if (left.length > 0) {
        const note = `[test] ${file} left ${left.length} process(es) running; killed: ${left.map(({ name, pid }) => `${name}[${pid}]`).join(', ')}\n`;
        out += note;
        if (live) process.stdout.write(note);
      }
      // Let the pipes drain briefly, then stop reading them.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({
          file,
          mark,
          ok: code === 0 && !overran,
          overran,
          code,
          signal,
          out,
          ms: performance.now() - started,
          passed: count(out, 'pass'),
          failed: count(out, 'fail') + count(out, 'cancelled'),
        });
      }, 200);
    });
  });
}

/**
 * Runs files `concurrency` at a time; output of parallel files is printed whole, one file after another.
 * A file may come with a `label` to be named by (e.g. `[postgres] path`) and an `env` of its own, so one
 * file can run several times in a suite, each run told apart.
 */
export async function runSuite(name, suite, files) {
  const live = suite.concurrency === 1;
  const queue = files.map((f) => (typeof f === 'string' ? { file: f } : f));
  const results = [];
  const worker = async () => {
    for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
      const label = entry.label ?? entry.file;
      if (live) console.log(`\n-- ${label}`);
      const result = await runFile(entry.file, { ...suite, env: { PARLEY_TEST_SUITE: name, ...entry.env }, live });
      if (!live) process.stdout.write(`\n-- ${label}\n${result.out}`);
      const how = result.overran ? 'KILLED (overran)' : result.ok ? 'ok' : `FAILED (exit ${result.code ?? result.signal})`;
      console.log(`-- ${label}: ${how} in ${(result.ms / 1000).toFixed(1)} s`);
      results.push({ ...result, label });
    }
  };
  await Promise.all(Array.from({ length: Math.min(suite.concurrency, queue.length) }, worker));
  return results;
}
