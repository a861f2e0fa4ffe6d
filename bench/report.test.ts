import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchOptions, BenchTarget } from './args.ts';
import type { PhaseFigures, TargetFigures } from './figures.ts';
import { CpuLedger } from './procStats.ts';
import { cpuPerMessage, renderTable, targetChecks, type Results } from './report.ts';
import { fakePhase } from './testFixtures.ts';

const options: BenchOptions = {
  visitors: 1000,
  agents: 20,
  conversations: 1000,
  seconds: 10,
  rate: 2000,
  window: 2,
  workers: 2,
  idleSeconds: 3,
  timeoutSeconds: 450,
  targets: ['sqlite', 'postgres', 'relay'],
  profileDir: null,
  nodeFlags: [],
};

const phase = fakePhase;

function figures(target: BenchTarget, throughput: PhaseFigures, latency: PhaseFigures): TargetFigures {
  const reading = { rss: 0, rssAfterGc: 0, heapUsed: 0 };
  return {
    target,
    databaseSettings: target === 'postgres' ? 'fsync on' : null,
    connections: 1020,
    conversations: 1000,
    memory: { before: reading, idle: reading, chats: reading, afterLoad: reading },
    perConnection: { rss: 20 * 1024, rssAfterGc: 8 * 1024, heapUsed: 5 * 1024 },
    perConversation: { rss: 0, rssAfterGc: 0, heapUsed: 0 },
    throughput,
    latency,
  };
}

const results: Results = {
  sqlite: figures('sqlite', phase(10_000, 300, { server: 0.9 }), phase(2000, 15, { server: 0.5 })),
  postgres: figures('postgres', phase(7_000, 400, { server: 0.7, database: 0.35 }), phase(2000, 25, { server: 0.4, database: 0.2 })),
  relay: figures('relay', phase(80_000, 60, { server: 0.8 }), phase(2000, 1.5, { server: 0.1 })),
};

test('CPU per message is the CPU share over the delivered rate, for the server and for PostgreSQL', () => {
  const pg = results.postgres as TargetFigures;
  assert.equal(cpuPerMessage(pg.throughput, 'server'), 0.7 / 7000);
  assert.equal(cpuPerMessage(pg.throughput, 'database'), 0.35 / 7000);
});

test('the table puts the stores and the relay side by side with the ratios the targets are about', () => {
  const table = renderTable(results, options);
  const throughput = table.split('\n').find((line) => line.startsWith('throughput'));
  assert.ok(throughput);
  assert.deepEqual(throughput.split('|').slice(1).map((cell) => cell.trim()), ['10,000', '7,000', '80,000', '0.70×', '0.13×']);
  const pgCpu = table.split('\n').find((line) => line.startsWith('PostgreSQL backends CPU per message'));
  assert.ok(pgCpu);
  assert.deepEqual(pgCpu.split('|').slice(1, 4).map((cell) => cell.trim()), ['n/a', '50.0 / 100.0', 'n/a']);
  const commits = table.split('\n').find((line) => line.startsWith('PostgreSQL commits/s'));
  assert.ok(commits);
  assert.equal(commits.split('|')[2]?.trim(), '1,750 (4.0) / 500 (4.0)');
});

test('targets: PostgreSQL against SQLite and p99 on each store; SQLite against the relay', () => {
  const checks = targetChecks(results, options);
  const verdict = (pattern: RegExp): boolean | null | undefined => checks.find((c) => pattern.test(c.target))?.met;
  assert.equal(verdict(/PostgreSQL: throughput ≥ 0\.6× SQLite/), true);
  assert.equal(verdict(/SQLite: latency p99/), true);
  assert.equal(verdict(/PostgreSQL: latency p99/), false);
  assert.equal(verdict(/SQLite: throughput ≥ 0\.5× the bare relay/), false);
  assert.ok(checks.every((c) => c.caveat === null), 'the reference load needs no caveat');
});

test('a target whose other side was not measured has no verdict; another load carries a caveat', () => {
  const checks = targetChecks({ postgres: results.postgres }, { ...options, conversations: 500 });
  const ratio = checks.find((c) => /≥ 0\.6× SQLite/.test(c.target));
  assert.equal(ratio?.met, null);
  const p99 = checks.find((c) => /latency p99/.test(c.target));
  assert.match(p99?.caveat ?? '', /500 conv/);
  assert.equal(checks.find((c) => /bare relay/.test(c.target))?.met, null);
});

test('the CPU ledger counts processes from the start, newcomers from zero, and keeps what ended', () => {
  const ledger = new CpuLedger();
  ledger.observe(new Map([[1, 10], [2, 5]]));
  ledger.observe(new Map([[1, 11], [2, 6], [3, 0.5]])); // 3 started during the phase
  ledger.observe(new Map([[1, 12], [3, 1]])); // 2 ended after using 1 s
  assert.equal(ledger.used(), 2 + 1 + 1);
});
