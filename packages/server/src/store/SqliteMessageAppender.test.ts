import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Party } from '@parley/protocol';
import { openSqliteStore } from './index.ts';
import { planBatch, SqliteMessageAppender } from './SqliteMessageAppender.ts';
import type { AppendMessageInput, AppendMessageResult } from './Store.ts';
import { at, createConversation, seedParties } from './storeContract.fixtures.ts';

let root: string;
let counter = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'parley-appender-test-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const vera: Party = { id: 'v1', role: 'visitor', name: 'Vera' };
const ann: Party = { id: 'a1', role: 'agent', name: 'Ann' };

/** A migrated database file with conversations `conversations`, and the raw connection the appender writes on. */
async function freshDatabase(conversations: readonly string[]): Promise<{ path: string; sqlite: Database.Database }> {
  const path = join(root, `run-${++counter}.db`);
  const store = await openSqliteStore(path);
  await seedParties(store);
  for (const [i, id] of conversations.entries()) await createConversation(store, id, i + 1);
  await store.close();
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  return { path, sqlite };
}

function text(sessionID: string, id: string, clientId: string | undefined, from: Party = vera): AppendMessageInput {
  return { id, sessionID, from, kind: 'text', text: `text of ${id}`, ...(clientId !== undefined ? { clientId } : {}), at: at(5) };
}

/** Every stored (seq, id) of a conversation, in seq order, with its first message. */
function stored(sqlite: Database.Database, sessionID: string): { rows: [number, string][]; firstMessage: string | null } {
  const rows = sqlite.prepare('SELECT seq, id FROM messages WHERE conversation_id = ? ORDER BY seq').all(sessionID) as { seq: number; id: string }[];
  const conversation = sqlite.prepare('SELECT first_message FROM conversations WHERE id = ?').get(sessionID) as { first_message: string | null };
  return { rows: rows.map((r) => [r.seq, r.id]), firstMessage: conversation.first_message };
}

/** Rows inserted, updated or deleted on this connection since it opened. */
function totalChanges(sqlite: Database.Database): number {
  return (sqlite.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
}

/** Requests every append in one turn (one batch) and waits for each outcome. */
function appendTogether(appender: SqliteMessageAppender, inputs: readonly AppendMessageInput[]): Promise<PromiseSettledResult<AppendMessageResult>[]> {
  return Promise.allSettled(inputs.map((input) => appender.append(input)));
}

describe('SqliteMessageAppender', () => {
  it('writes a batch over several conversations in one pass: seqs in call order, the first message once per conversation', async () => {
    const { sqlite } = await freshDatabase(['c1', 'c2', 'c3']);
    const appender = new SqliteMessageAppender(sqlite);
    const inputs = [
      text('c1', 'm1', 'k1'),
      text('c2', 'm2', 'k2'),
      { ...text('c1', 'e1', undefined, { id: 'system', role: 'system', name: 'Parley' }), kind: 'event' as const },
      text('c1', 'm3', 'k3', ann),
      text('c3', 'm4', 'k4'),
      text('c2', 'm5', 'k5'),
    ];
    const outcomes = await appendTogether(appender, inputs);
    const seqs = outcomes.map((o) => (o.status === 'fulfilled' ? [o.value.message.sessionID, o.value.message.seq, o.value.duplicate] : o.reason));
    assert.deepEqual(seqs, [['c1', 1, false], ['c2', 1, false], ['c1', 2, false], ['c1', 3, false], ['c3', 1, false], ['c2', 2, false]]);
    assert.deepEqual(appender.counts, { fastBatches: 1, carefulBatches: 0 });
    assert.deepEqual(stored(sqlite, 'c1'), { rows: [[1, 'm1'], [2, 'e1'], [3, 'm3']], firstMessage: 'text of m1' });
    assert.deepEqual(stored(sqlite, 'c2'), { rows: [[1, 'm2'], [2, 'm5']], firstMessage: 'text of m2' });
    const first = outcomes[3];
    assert.ok(first?.status === 'fulfilled');
    assert.deepEqual(first.value.message, { id: 'm3', seq: 3, sessionID: 'c1', from: ann, kind: 'text', text: 'text of m3', clientId: 'k3', at: at(5) });
    sqlite.close();
  });

  it('answers a retried clientId with the stored message: the pass rolls back, the careful path writes the batch without a gap', async () => {
    const { sqlite } = await freshDatabase(['c1', 'c2']);
    const appender = new SqliteMessageAppender(sqlite);
    await appendTogether(appender, [text('c1', 'm1', 'k1'), text('c1', 'm2', 'k2')]);
    const outcomes = await appendTogether(appender, [text('c2', 'm3', 'k3'), text('c1', 'retry', 'k2'), text('c1', 'm4', 'k4')]);
    const results = outcomes.map((o) => (o.status === 'fulfilled' ? [o.value.message.id, o.value.message.seq, o.value.duplicate] : String(o.reason)));
    assert.deepEqual(results, [['m3', 1, false], ['m2', 2, true], ['m4', 3, false]]);
    assert.deepEqual(appender.counts, { fastBatches: 1, carefulBatches: 1 });
    assert.deepEqual(stored(sqlite, 'c1'), { rows: [[1, 'm1'], [2, 'm2'], [3, 'm4']], firstMessage: 'text of m1' });
    assert.deepEqual(stored(sqlite, 'c2').rows, [[1, 'm3']]);
    sqlite.close();
  });

  it('stores a clientId repeated within one batch once; the repeat is its duplicate', async () => {
    const { sqlite } = await freshDatabase(['c1']);
    const appender = new SqliteMessageAppender(sqlite);
    const outcomes = await appendTogether(appender, [text('c1', 'm1', 'k1'), text('c1', 'm1-again', 'k1'), text('c1', 'm2', 'k2')]);
    const results = outcomes.map((o) => (o.status === 'fulfilled' ? [o.value.message.id, o.value.message.seq, o.value.duplicate] : String(o.reason)));
    assert.deepEqual(results, [['m1', 1, false], ['m1', 1, true], ['m2', 2, false]]);
    assert.deepEqual(appender.counts, { fastBatches: 0, carefulBatches: 1 });
    assert.deepEqual(stored(sqlite, 'c1').rows, [[1, 'm1'], [2, 'm2']]);
    sqlite.close();
  });

  it('fails only the appends of a missing conversation or of a taken message id, and leaves no gap', async () => {
    const { sqlite } = await freshDatabase(['c1']);
    const appender = new SqliteMessageAppender(sqlite);
    await appendTogether(appender, [text('c1', 'm1', 'k1')]);
    const outcomes = await appendTogether(appender, [text('nowhere', 'm2', 'k2'), text('c1', 'm1', 'k-other'), text('c1', 'm3', 'k3')]);
    assert.equal(outcomes[0]?.status, 'rejected');
    assert.match(String(outcomes[0]?.status === 'rejected' ? outcomes[0].reason : ''), /does not exist/);
    assert.equal(outcomes[1]?.status, 'rejected', 'the taken id fails');
    assert.ok(outcomes[2]?.status === 'fulfilled');
    assert.equal(outcomes[2].value.message.seq, 2);
    assert.deepEqual(stored(sqlite, 'c1'), { rows: [[1, 'm1'], [2, 'm3']], firstMessage: 'text of m1' });
    sqlite.close();
  });

  it('writes only message rows for a batch once each conversation has its first message: no counter on the conversation', async () => {
    const { sqlite } = await freshDatabase(['c1', 'c2']);
    const appender = new SqliteMessageAppender(sqlite);
    await appendTogether(appender, [text('c1', 'm1', 'k1'), text('c2', 'm2', 'k2')]);
    const before = totalChanges(sqlite);
    const outcomes = await appendTogether(appender, [text('c1', 'm3', 'k3'), text('c2', 'm4', 'k4'), text('c1', 'm5', 'k5')]);
    assert.deepEqual(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.message.seq : o.reason)), [2, 2, 3]);
    assert.equal(totalChanges(sqlite) - before, 3, 'three inserted messages and nothing else: no conversation row was updated');
    assert.deepEqual(appender.counts, { fastBatches: 2, carefulBatches: 0 });
    sqlite.close();
  });

  it('numbers on from the stored messages of a database written before, whatever its last_seq column says', async () => {
    const { sqlite } = await freshDatabase(['c1']);
    const insert = sqlite.prepare("INSERT INTO messages (id, conversation_id, seq, from_id, from_role, from_name, kind, text, client_id, at) VALUES (?, 'c1', ?, 'v1', 'visitor', 'Vera', 'text', ?, ?, ?)");
    for (const seq of [1, 2, 3]) insert.run(`old${seq}`, seq, `old ${seq}`, `old-k${seq}`, at(seq));
    sqlite.prepare("UPDATE conversations SET last_seq = 7, first_message = 'old 1' WHERE id = 'c1'").run();
    const appender = new SqliteMessageAppender(sqlite);
    const outcomes = await appendTogether(appender, [text('c1', 'm4', 'k4'), text('c1', 'retry', 'old-k2')]);
    const results = outcomes.map((o) => (o.status === 'fulfilled' ? [o.value.message.id, o.value.message.seq, o.value.duplicate] : String(o.reason)));
    assert.deepEqual(results, [['m4', 4, false], ['old2', 2, true]]);
    assert.deepEqual(stored(sqlite, 'c1'), { rows: [[1, 'old1'], [2, 'old2'], [3, 'old3'], [4, 'm4']], firstMessage: 'old 1' });
    sqlite.close();
  });

  it('plans a batch per conversation, and refuses to plan a repeated clientId', () => {
    const plan = planBatch([text('c1', 'a', 'k1'), text('c2', 'b', 'k1'), text('c1', 'c', undefined)].map((input) => ({ input })));
    assert.deepEqual(plan && [...plan], [['c1', { count: 2, firstText: 'text of a' }], ['c2', { count: 1, firstText: 'text of b' }]]);
    assert.equal(planBatch([text('c1', 'a', 'k1'), text('c1', 'b', 'k1')].map((input) => ({ input }))), null);
  });

  it('loses nothing acknowledged when the process is SIGKILLed in the middle of a batch', { timeout: 60_000 }, async () => {
    const { path, sqlite } = await freshDatabase(['c1', 'c2', 'c3', 'c4']);
    sqlite.close();
    const { acked, signal } = await appendUntilKilledMidBatch(path);
    assert.equal(signal, 'SIGKILL', 'the child killed itself inside a transaction');
    assert.ok(acked.length >= 200, `the child acknowledged ${acked.length} appends before the kill`);
    const after = new Database(path);
    const storedIds = new Map<string, { sessionID: string; seq: number }>();
    for (const sessionID of ['c1', 'c2', 'c3', 'c4']) {
      const { rows } = stored(after, sessionID);
      assert.deepEqual(rows.map(([seq]) => seq), rows.map((_, i) => i + 1), `${sessionID}: stored seqs are gapless`);
      for (const [seq, id] of rows) storedIds.set(id, { sessionID, seq });
    }
    after.close();
    for (const ack of acked) assert.deepEqual(storedIds.get(ack.id), { sessionID: ack.sessionID, seq: ack.seq }, `acknowledged ${ack.id} is stored as answered`);
    assert.equal(storedIds.size, acked.length, 'nothing of the killed batch is stored (its appends were never answered)');
    assert.equal([...storedIds.keys()].some((id) => id.startsWith('boom')), false);
  });
});

/**
 * Runs a child that appends in rounds of 40 concurrent appends over four conversations (one batch each) and prints
 * `sessionID seq id` after each acknowledgement. A trigger calls a function that SIGKILLs the process when the
 * message `boom` is inserted: in round 8, in the middle of its batch, after half of it was written.
 */
async function appendUntilKilledMidBatch(path: string): Promise<{ acked: { sessionID: string; seq: number; id: string }[]; signal: NodeJS.Signals | null }> {
  const appenderUrl = new URL('./SqliteMessageAppender.ts', import.meta.url).href;
  const script = `
    const { default: Database } = await import('better-sqlite3');
    const { SqliteMessageAppender } = await import(${JSON.stringify(appenderUrl)});
    const { writeSync } = await import('node:fs');
    const sqlite = new Database(${JSON.stringify(path)});
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.function('die', () => { process.kill(process.pid, 'SIGKILL'); return 0; });
    sqlite.exec("CREATE TEMP TRIGGER kill_mid_batch BEFORE INSERT ON main.messages WHEN NEW.id = 'boom' BEGIN SELECT die(); END");
    const appender = new SqliteMessageAppender(sqlite);
    const from = { id: 'v1', role: 'visitor', name: 'Vera' };
    // stdout is a non-blocking pipe: a busy parent lets it fill, and a write then fails with EAGAIN until it drains.
    // Each line goes out whole before the next append is answered (a line is far below the pipe's atomic size).
    const say = (line) => { for (;;) { try { writeSync(1, line); return; } catch (err) { if (err.code !== 'EAGAIN') throw err; } } };
    for (let round = 0; ; round++) {
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const id = round === 8 && i === 20 ? 'boom' : 'r' + round + '-' + i;
        const sessionID = 'c' + (1 + (i % 4));
        const { message } = await appender.append({ id, sessionID, from, kind: 'text', text: id, clientId: id, at: new Date().toISOString() });
        say(sessionID + ' ' + message.seq + ' ' + message.id + '\\n');
      }));
    }`;
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const killer = setTimeout(() => child.kill('SIGTERM'), 45_000);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const acked: { sessionID: string; seq: number; id: string }[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const [sessionID, seq, id] = line.split(' ');
    acked.push({ sessionID: sessionID ?? '', seq: Number(seq), id: id ?? '' });
  }
  const signal = await exited;
  clearTimeout(killer);
  return { acked, signal };
}
