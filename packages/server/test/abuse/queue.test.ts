/*
 * Finding 1 of the abuse review: one address with no account flooded the queue, each new chat broadcast the
 * whole queue to every agent (4.3 MB at 1,441 waiting), and agents were cut off as slow readers. Here: 1,500
 * queued conversations from one address at full field sizes, while an agent stays connected, what it receives
 * per new chat stays small, and a visitor from another address still reaches it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { QueuedConversation, ServerFrame } from '@parley/protocol';
import { LIMITS, PROTOCOL_VERSION } from '@parley/protocol';
import { createVisitor } from '../support/http.ts';
import { ProtocolClient } from '../support/ProtocolClient.ts';
import { newAgent, startTestServer } from '../support/server.ts';

const FLOOD = 1500;
const CONCURRENCY = 25;
const MAX_FRAME_BYTES = 4096;
const info = { page: `https://shop.example/${'p'.repeat(2048 - 21)}`, userAgent: 'U'.repeat(512) };
const opening = 'W'.repeat(200);

describe('abuse: a queue flood from one address', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  before(async () => {
    // Per-IP visitor creation limits are someone else's finding: raised here so the flood reaches 1,500.
    // Every per-address and total cap raised: this test is about what a long queue costs the agents, not the caps
    // (packages/server/test/abuse/caps.test.ts proves those).
    server = await startTestServer({
      RATE_LIMIT_RPS: '100000',
      RATE_LIMIT_BURST: '1000000',
      VISITORS_PER_IP_PER_MINUTE: '100000',
      MAX_QUEUED_PER_IP: '100000',
      MAX_QUEUED_TOTAL: '100000',
      MAX_CONNECTIONS_PER_IP: '100000',
    });
  });
  after(() => server.stop());

  it('keeps the agent connected, bounds what it hears per new chat, and serves another address', { timeout: 300_000 }, async () => {
    const agent = await newAgent(server, 'Flood Watcher');
    let queueBytes = 0;
    let largest = 0;
    let queueFrames = 0;
    const sizes: number[] = [];
    const measure = (f: ServerFrame) => {
      if (f.type !== 'queue.updated') return;
      const bytes = Buffer.byteLength(JSON.stringify(f));
      queueBytes += bytes;
      queueFrames++;
      largest = Math.max(largest, bytes);
      sizes.push(f.size);
    };
    // A frame of the old kind (the whole queue) would show here as anything but queue.updated.
    const unexpected: string[] = [];
    const started = Date.now();
    let next = 0;
    const flooder = async () => {
      while (next < FLOOD) {
        next++;
        const visitor = await createVisitor(server.url, 'F'.repeat(LIMITS.maxNameChars));
        const client = await ProtocolClient.open(server.url);
        client.sendRaw({ type: 'auth', v: PROTOCOL_VERSION, token: visitor.token, info });
        await client.waitFor((f) => f.type === 'ready');
        await client.request('chat.start', { text: opening });
        await client.close();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, flooder));
    const floodMs = Date.now() - started;
    // Let the last coalesced news arrive.
    await agent.client.waitFor((f) => f.type === 'queue.updated' && f.size >= FLOOD - 5, 10_000).catch(() => undefined);
    for (const f of agent.client.frames) {
      measure(f);
      if (!['ready', 'result', 'queue.updated', 'presence.changed', 'conversation.assigned', 'conversation.updated', 'message'].includes(f.type)) unexpected.push(f.type);
    }

    assert.equal(agent.client.closeCode, null, 'the agent was never closed');
    assert.ok(queueFrames > 0, 'the agent heard of the queue');
    assert.ok(largest < MAX_FRAME_BYTES, `largest queue frame ${largest} B`);
    assert.ok(queueBytes / FLOOD < MAX_FRAME_BYTES, `${Math.round(queueBytes / FLOOD)} B per new chat`);
    assert.deepEqual(unexpected, []);
    const last = sizes.at(-1) ?? 0;
    assert.ok(last >= FLOOD - 5, `the size says ${last} wait (the agent takes at most 5)`);

    // The agent is still served: a page is bounded, the fields cut.
    const page = await agent.client.request('queue.list', {});
    assert.equal(page.queue.length, 50);
    assert.equal(page.size, last);
    const entry = page.queue[0]!;
    assert.ok((entry.firstMessage ?? '').length <= LIMITS.queueFirstMessageChars);
    assert.ok((entry.visitorInfo.page ?? '').length <= LIMITS.queuePageChars);
    assert.ok((entry.visitorInfo.userAgent ?? '').length <= LIMITS.queueUserAgentChars);
    assert.ok(Buffer.byteLength(JSON.stringify(page)) < 100 * MAX_FRAME_BYTES);

    // A real visitor from another address reaches the agent: its chat is in the queue the agent reads, and taken.
    const honest = await createVisitor(server.url, 'Honest Hana');
    const visitor = await ProtocolClient.connect(server.url, honest.token, { localAddress: '127.0.0.2' });
    const sessionID = (await visitor.request('chat.start', { text: 'I just want my order' })).conversation.sessionID;
    await agent.client.waitFor((f) => f.type === 'queue.updated' && f.size > last);
    let found: QueuedConversation | undefined;
    let after: string | undefined;
    for (let pages = 0; found === undefined && pages < 40; pages++) {
      const p = await agent.client.request('queue.list', after === undefined ? { limit: 100 } : { limit: 100, after });
      found = p.queue.find((q) => q.sessionID === sessionID);
      if (p.next === null) break;
      after = p.next;
    }
    assert.equal(found?.visitor.name, 'Honest Hana', 'the honest chat is visible to the agent');
    const accepted = await agent.client.request('conversation.accept', { sessionID });
    assert.equal(accepted.conversation.agent?.id, agent.agent.id);
    await visitor.waitFor((f) => f.type === 'conversation.updated' && f.conversation.agent?.id === agent.agent.id);
    assert.equal(agent.client.closeCode, null, 'still connected at the end');

    console.log(
      `queue flood: ${FLOOD} chats in ${floodMs} ms; agent got ${queueFrames} queue frames, ${queueBytes} B ` +
        `(${Math.round(queueBytes / FLOOD)} B per new chat, largest ${largest} B); a page of 50 is ${Buffer.byteLength(JSON.stringify(page))} B`,
    );
    await visitor.close();
    await agent.client.close();
  });
});
