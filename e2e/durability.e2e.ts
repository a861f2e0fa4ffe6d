/*
 * Nothing acknowledged is ever lost: messages acknowledged before a SIGKILL are all there after a
 * restart on the same data directory, exactly once and in seq order, and the conversation goes on.
 * Node only (raw protocol over `ws`), no browser.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Message } from '@parley/protocol';
import { Cleanup, makeTempDir, removeDir, startParley } from './support/harness.ts';
import { createVisitor } from '../packages/server/test/support/http.ts';
import { ProtocolClient } from '../packages/server/test/support/ProtocolClient.ts';

const cleanup = new Cleanup();
after(() => cleanup.run());

/** Messages sent back to back, all in flight at once. */
const N = 200;
/** This test is about durability, not flood control: lift the per-connection frame budget. */
const NO_RATE_LIMIT = { RATE_LIMIT_RPS: '100000', RATE_LIMIT_BURST: '100000' };
/** A bound on each answer of the burst, generous: all N are in flight at once on a shared machine. */
const BURST_TIMEOUT_MS = 30_000;

async function syncAll(client: ProtocolClient, sessionID: string, afterSeq = 0): Promise<Message[]> {
  const all: Message[] = [];
  let cursor = afterSeq;
  for (;;) {
    const page = await client.request('conversation.sync', { sessionID, afterSeq: cursor });
    all.push(...page.messages);
    if (!page.more) return all;
    const last = page.messages.at(-1);
    assert.ok(last, 'a sync page that says `more` must not be empty');
    cursor = last.seq;
  }
}

test('acknowledged messages survive SIGKILL and a restart, exactly once, in order', async () => {
  const dataDir = await makeTempDir();
  cleanup.add(() => removeDir(dataDir));

  const first = await startParley({ dataDir, env: NO_RATE_LIMIT });
  cleanup.add(() => first.stop());
  const { token } = await createVisitor(first.url, 'Durable Dana');
  const before = await ProtocolClient.connect(first.url, token);
  cleanup.add(() => before.close());

  const started = await before.request('chat.start', {});
  const sessionID = started.conversation.sessionID;
  const baseSeq = started.conversation.lastSeq;

  const texts = Array.from({ length: N }, (_, i) => `durable message ${i + 1} of ${N}`);
  const acks = await Promise.all(
    texts.map((text, i) =>
      before.request('message.send', { sessionID, clientId: `durable-${i + 1}`, text }, BURST_TIMEOUT_MS),
    ),
  );
  assert.equal(acks.length, N);
  assert.ok(acks.every((ack) => !ack.duplicate), 'first sends are not duplicates');
  const ackedSeqs = acks.map((ack) => ack.message.seq).sort((a, b) => a - b);
  assert.deepEqual(
    ackedSeqs,
    Array.from({ length: N }, (_, i) => baseSeq + i + 1),
    'acknowledged seqs are consecutive after the conversation start',
  );

  await first.kill('SIGKILL');

  const second = await startParley({ dataDir, env: NO_RATE_LIMIT });
  cleanup.add(() => second.stop());
  const afterRestart = await ProtocolClient.connect(second.url, token);
  cleanup.add(() => afterRestart.close());

  const resumed = afterRestart.ready.conversations.find((c) => c.sessionID === sessionID);
  assert.ok(resumed, `ready after restart lists the open conversation ${sessionID}`);
  assert.equal(resumed.lastSeq, baseSeq + N, 'ready reports the last acknowledged seq');

  const history = await syncAll(afterRestart, sessionID);
  const textMessages = history.filter((m) => m.kind === 'text');
  assert.deepEqual(
    history.map((m) => m.seq),
    Array.from({ length: history.length }, (_, i) => i + 1),
    'sync returns seqs 1..last without gaps or repeats',
  );
  const mine = textMessages.filter((m) => m.text.startsWith('durable message '));
  assert.deepEqual(
    mine.map((m) => m.text),
    texts,
    'every acknowledged message is present exactly once, in the order of its seq',
  );
  for (const ack of acks) {
    const stored = history.find((m) => m.id === ack.message.id);
    assert.ok(stored, `acknowledged message ${ack.message.id} is stored`);
    assert.equal(stored.seq, ack.message.seq, 'stored under the seq it was acknowledged with');
  }

  const retry = await afterRestart.request('message.send', {
    sessionID,
    clientId: `durable-${N}`,
    text: texts[N - 1]!,
  });
  assert.equal(retry.duplicate, true, 'a retry of an acknowledged clientId after the restart is a duplicate');
  assert.equal(retry.message.seq, baseSeq + N);

  const next = await afterRestart.request('message.send', {
    sessionID,
    clientId: 'durable-next',
    text: 'after the restart',
  });
  assert.equal(next.duplicate, false);
  assert.equal(next.message.seq, baseSeq + N + 1, 'sending continues with the next seq');

  const tail = await syncAll(afterRestart, sessionID, baseSeq + N);
  assert.deepEqual(
    tail.map((m) => [m.seq, m.text]),
    [[baseSeq + N + 1, 'after the restart']],
    'the retry stored nothing; the new message is the only one after the restart',
  );
});
