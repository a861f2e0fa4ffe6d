import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { ParleyError } from '../errors.ts';
import { MemoryStorage } from '../storage.ts';
import type { Message } from '../wire.ts';
import { MessageSender } from './MessageSender.ts';
import { Outbox, type OutboxEntry } from './Outbox.ts';

/*
 * The server's database away (`unavailable` answers while connected): the message stays in the outbox and goes
 * out again, with the same clientId, on a backoff timer, until the server stores it. Timers are mocked: the test
 * moves the clock, it never waits.
 */

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

const stored = (entry: OutboxEntry, seq: number): Message => ({
  id: `m-${entry.clientId}`,
  seq,
  sessionID: entry.sessionID,
  from: { id: 'v', role: 'visitor', name: 'V' },
  kind: 'text',
  text: entry.text,
  at: '2025-01-01T00:00:00Z',
  clientId: entry.clientId,
});

/** A started sender, connected, whose server answers with `transmit`. */
function senderAnswering(transmit: (entry: OutboxEntry) => Promise<Message>) {
  const outbox = new Outbox(new MemoryStorage(), 'outbox');
  const sender = new MessageSender({ sessionID: 's', outbox, isConnected: () => true, onStored: () => undefined, transmit });
  sender.start();
  return { outbox, sender };
}

/** A sender whose server answers `unavailable` while `down` is true. */
function senderWithOutage() {
  const state = { down: true };
  const sent: OutboxEntry[] = [];
  const { outbox, sender } = senderAnswering(async (entry) => {
    sent.push(entry);
    if (state.down) throw new ParleyError('unavailable', 'the database is unavailable (connection refused); try again');
    return stored(entry, sent.length);
  });
  return { state, sent, outbox, sender };
}

/** Lets the promise callbacks of a settled transmit run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('an `unavailable` answer keeps the message and resends it, same clientId, on a backoff timer, until it is stored', async () => {
  const { state, sent, outbox, sender } = senderWithOutage();
  let outcome: Message | ParleyError | null = null;
  sender.enqueue('typed during the outage').then(
    (m) => (outcome = m),
    (e: ParleyError) => (outcome = e),
  );
  await settle();
  assert.equal(sent.length, 1);
  assert.equal(outcome, null, 'not final: the caller is not told it failed');
  assert.equal(outbox.all().length, 1, 'still in the outbox');

  // Each retry waits (at least 250 ms); while the server stays down, it keeps trying.
  for (let attempt = 2; attempt <= 6; attempt++) {
    mock.timers.tick(30_000);
    await settle();
    assert.equal(sent.length, attempt);
  }
  assert.equal(outcome, null);

  state.down = false;
  mock.timers.tick(30_000);
  await settle();
  assert.ok(sent.every((e) => e.clientId === sent[0]!.clientId), 'every resend carries the same clientId');
  assert.equal((outcome as Message | null)?.text, 'typed during the outage');
  assert.equal(outbox.all().length, 0, 'acknowledged: out of the outbox');
  mock.timers.tick(60_000);
  await settle();
  assert.equal(sent.length, 7, 'nothing is sent after the acknowledgement');
});

test('a retry does not fire at once: the first resend waits for the backoff', async () => {
  const { sent, sender } = senderWithOutage();
  void sender.enqueue('hello').catch(() => undefined);
  await settle();
  assert.equal(sent.length, 1);
  mock.timers.tick(249);
  await settle();
  assert.equal(sent.length, 1, 'no resend before 250 ms');
  mock.timers.tick(30_000);
  await settle();
  assert.equal(sent.length, 2);
  sender.stop(ParleyError.unavailable('test over'), true);
});

test('a final refusal drops the message and rejects the caller; `unavailable` never does', async () => {
  const { outbox, sender } = senderAnswering(async () => {
    throw new ParleyError('forbidden', 'not yours');
  });
  await assert.rejects(sender.enqueue('x'), (err: ParleyError) => err.code === 'forbidden');
  assert.equal(outbox.all().length, 0);
  assert.equal(new ParleyError('unavailable', 'x').final, false);
});
