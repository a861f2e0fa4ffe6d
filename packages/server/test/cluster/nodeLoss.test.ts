/*
 * Losing a node: two node processes behind HAProxy (deploy/haproxy.cfg), a visitor on one and its agent on the
 * other. The visitor's node is SIGKILLed at a chosen point of appending a message (before its commit, after the
 * commit before its ack, after its publish before its ack); the visitor reconnects through the balancer, resumes,
 * resends what was not acknowledged (same clientId) and goes on. Counted: messages lost, doubled, out of order
 * (all zero), and the agent never shown offline. A call whose visitor was on the dead node stays up and ends once.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Message, ServerFrame } from '@parley/protocol';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { createVisitor, loginAgent } from '../support/http.ts';
import { ProtocolClient, type ConnectedClient } from '../support/ProtocolClient.ts';

const isAssigned = (sessionID: string) => (f: ServerFrame) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID;

/** Connects as the SDK does after losing its node: again and again until a node takes it. */
async function reconnect(url: string, token: string, timeoutMs = 20_000): Promise<{ client: ConnectedClient; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    try {
      return { client: await ProtocolClient.connect(url, token, { timeoutMs: 5000 }), afterMs: Date.now() - started };
    } catch (err) {
      if (Date.now() - started > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** An agent on node 2 and a visitor on node 1 in one conversation, the agent assigned. */
async function chatAcross(cluster: Cluster, name: string) {
  const [node1, node2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const email = `${name.toLowerCase()}@example.test`;
  cluster.createAgent({ email, name, password: 'correct horse battery' });
  const login = await loginAgent(node2.url, email, 'correct horse battery');
  const agent = await ProtocolClient.connect(node2.url, login.token);
  const identity = await createVisitor(cluster.url, `Visitor of ${name}`);
  const visitor: ConnectedClient = await ProtocolClient.connect(node1.url, identity.token);
  const id = (await visitor.request('chat.start', { text: 'hello' })).conversation.sessionID;
  const assigned = await agent.waitFor(isAssigned(id), 10_000);
  const history = assigned.type === 'conversation.assigned' ? assigned.conversation.lastSeq : 0;
  return { login, agent, identity, visitor, id, history };
}

function tally(heard: Message[], expected: number[]) {
  const seqs = heard.map((m) => m.seq);
  const set = new Set(seqs);
  let reordered = 0;
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) reordered++;
  return { lost: expected.filter((s) => !set.has(s)), doubled: seqs.length - set.size, reordered };
}

const POINTS = ['beforeCommit', 'afterCommit', 'afterPublish'] as const;

describe('losing a node', { timeout: 240_000 }, () => {
  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.stop();
  });

  for (const point of POINTS) {
    it(`SIGKILL ${point}: the visitor resumes through the balancer on the other node; nothing lost, doubled or reordered`, async () => {
      const marker = `crash-${point}-marker`;
      // Only node 1 dies at the point; the resend lands on node 2, which stores (or finds) it normally.
      const cluster = await startCluster({ nodes: 2, nodeEnv: (i): Record<string, string> => (i === 0 ? { PARLEY_TEST_CRASH_AT: `${point}:${marker}` } : {}) });
      clusters.push(cluster);
      try {
        const { login, agent, identity, id, history, ...opened } = await chatAcross(cluster, 'Ana');
        let visitor = opened.visitor;
        for (let i = 0; i < 10; i++) await visitor.request('message.send', { sessionID: id, clientId: `before-${i}`, text: `before ${i}` });

        // The crash: this message's append kills node 1 at the chosen point; no answer comes.
        const crashed = visitor.request('message.send', { sessionID: id, clientId: 'the-crash', text: `the ${marker}` }, 10_000).then(
          () => 'acknowledged',
          () => 'unacknowledged',
        );
        assert.equal(await crashed, 'unacknowledged', 'the node died before answering');
        await cluster.kill(0); // reaps the process (it is dead already)

        // Like the SDK: reconnect through the balancer, resume from the last seq heard, resend the unacknowledged one.
        const lastHeard = Math.max(0, ...visitor.messages(id).map((m) => m.seq));
        const back = await reconnect(cluster.url, identity.token);
        visitor = back.client;
        const resumed = await visitor.request('conversation.sync', { sessionID: id, afterSeq: lastHeard });
        const resent = await visitor.request('message.send', { sessionID: id, clientId: 'the-crash', text: `the ${marker}` });
        assert.equal(resent.duplicate, point !== 'beforeCommit', 'stored once: before the commit it was not; after it, it was');
        for (let i = 0; i < 10; i++) await visitor.request('message.send', { sessionID: id, clientId: `after-${i}`, text: `after ${i}` });
        await agent.waitFor((f) => f.type === 'message' && f.message.text === 'after 9', 15_000);

        const stored = (await visitor.request('conversation.sync', { sessionID: id, afterSeq: 0 })).messages;
        assert.equal(stored.filter((m) => m.clientId === 'the-crash').length, 1, 'the crashed message is stored exactly once');
        const fromVisitor = stored.filter((m) => m.from.role === 'visitor' && m.seq > history).map((m) => m.seq);
        assert.deepEqual(tally(agent.messages(id), fromVisitor), { lost: [], doubled: 0, reordered: 0 }, 'what the agent heard');
        const visitorSide = [...resumed.messages.map((m) => m.seq)];
        assert.deepEqual(visitorSide.filter((s, k) => visitorSide.indexOf(s) !== k), [], 'the resumed page has no seq twice');
        // The agent, on the surviving node, was never offline; and HAProxy took the dead node out.
        assert.equal(agent.frames.filter((f) => f.type === 'presence.changed' && f.agent.id === login.agent.id && f.agent.presence === 'offline').length, 0);
        await cluster.waitBalancer(0, 'DOWN');
        console.log(`# ${point}: reconnected through the balancer ${back.afterMs} ms after the kill`);
        agent.close();
        visitor.close();
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${cluster.describe()}`, { cause: err });
      }
    });
  }

  it('a call whose visitor was on the killed node stays up, the visitor re-joins elsewhere, and it ends once', async () => {
    const cluster = await startCluster({ nodes: 2, env: { CALL_GRACE_SECONDS: '8' } });
    clusters.push(cluster);
    try {
      const { login, agent, identity, id, ...opened } = await chatAcross(cluster, 'Cal');
      let visitor = opened.visitor;
      const { call } = await visitor.request('call.request', { sessionID: id, useAudio: true, useVideo: true });
      await agent.request('call.answer', { sessionID: id, callId: call.callId, accept: true });
      await visitor.request('call.join', { sessionID: id, callId: call.callId });
      await agent.request('call.join', { sessionID: id, callId: call.callId });
      visitor.sendRaw({ type: 'call.connection', sessionID: id, callId: call.callId, peerId: login.agent.id, state: 'connected' });
      await agent.waitFor((f) => f.type === 'call.updated' && f.call.state === 'active', 10_000);

      await cluster.kill(0);
      const back = await reconnect(cluster.url, identity.token);
      visitor = back.client;
      assert.equal(visitor.ready.conversations.find((c) => c.sessionID === id)?.call?.state, 'active', 'the call is still up after the kill');
      await visitor.request('call.join', { sessionID: id, callId: call.callId });
      // Past the dead node's reaping (2 s) and beyond the grace period (8 s): the call is still active.
      await new Promise((r) => setTimeout(r, 10_000));
      const endedEarly = agent.frames.filter((f) => f.type === 'call.updated' && f.call.callId === call.callId && f.call.state === 'ended');
      assert.equal(endedEarly.length, 0, 'the call did not end while its visitor moved nodes');
      // Signaling reaches the visitor on its new node.
      agent.sendRaw({ type: 'signal', sessionID: id, callId: call.callId, to: identity.visitor.id, description: { type: 'offer', sdp: 'v=0 again' } });
      await visitor.waitFor((f) => f.type === 'signal', 10_000);
      const ended = await visitor.request('call.hangup', { sessionID: id, callId: call.callId });
      assert.equal(ended.call.state, 'ended');
      await agent.waitFor((f) => f.type === 'call.updated' && f.call.callId === call.callId && f.call.state === 'ended', 10_000);
      await new Promise((r) => setTimeout(r, 1000));
      const endings = agent.frames.filter((f) => f.type === 'call.updated' && f.call.callId === call.callId && f.call.state === 'ended').length;
      assert.equal(endings, 1, 'ended exactly once');
      const transcript = (await agent.request('conversation.sync', { sessionID: id, afterSeq: 0 })).messages.map((m) => m.text);
      assert.equal(transcript.filter((t) => /call ended/i.test(t)).length, 1);
      agent.close();
      visitor.close();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.describe()}`, { cause: err });
    }
  });

  it("a killed node's agents show offline once it is counted dead, unless they reconnected elsewhere", async () => {
    const cluster = await startCluster({ nodes: 2 });
    clusters.push(cluster);
    const [node1, node2] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    try {
      const signIn = async (name: string, url: string) => {
        const email = `${name.toLowerCase()}@example.test`;
        cluster.createAgent({ email, name, password: 'correct horse battery' });
        const login = await loginAgent(cluster.url, email, 'correct horse battery');
        return { login, client: await ProtocolClient.connect(url, login.token) };
      };
      const watcher = await signIn('Wendy', node1.url);
      const gone = await signIn('Gus', node2.url);
      const moved = await signIn('Mo', node2.url);
      const killedAt = Date.now();
      await cluster.kill(1);
      const back = await reconnect(cluster.url, moved.login.token); // Mo comes back through the balancer, on node 1
      const offline = await watcher.client.waitFor(
        (f) => f.type === 'presence.changed' && f.agent.id === gone.login.agent.id && f.agent.presence === 'offline',
        15_000,
      );
      assert.ok(offline);
      console.log(`# the dead node's agent showed offline ${Date.now() - killedAt} ms after the kill (NODE_DEAD_MS 2000)`);
      await new Promise((r) => setTimeout(r, 1000));
      const movedOffline = watcher.client.frames.filter((f) => f.type === 'presence.changed' && f.agent.id === moved.login.agent.id && f.agent.presence === 'offline');
      assert.equal(movedOffline.length, 0, 'the agent that reconnected elsewhere never showed offline');
      const list = await watcher.client.request('agents.list', {});
      assert.equal(list.agents.find((a) => a.id === moved.login.agent.id)?.presence, 'online');
      assert.equal(list.agents.find((a) => a.id === gone.login.agent.id)?.presence, 'offline');
      for (const c of [watcher.client, back.client]) c.close();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.describe()}`, { cause: err });
    }
  });
});
