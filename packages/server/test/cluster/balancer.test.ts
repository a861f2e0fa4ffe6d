/*
 * The shipped balancer configuration (deploy/haproxy.cfg, through support/cluster.ts) in front of two node
 * processes: requests are spread with no stickiness, a WebSocket upgrades and authenticates through it, a killed
 * node is taken out by the health check while every request is still answered (redispatch), a restarted node is
 * back in rotation, and with Redis gone for every node the nodes are still reached.
 *
 * Requests here go on a new connection to HAProxy each, so any failure counted is the balancer's (a 5xx of its own,
 * or a connection it closed unanswered), never a client's stale keep-alive connection.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { createVisitor } from '../support/http.ts';
import { ProtocolClient } from '../support/ProtocolClient.ts';

interface Health {
  status: number;
  /** The node that answered (its /healthz names it); null when HAProxy answered itself or nothing did. */
  node: string | null;
  reason?: string;
  error?: string;
}

/** GET /healthz through `base`, on a connection of its own; never throws. */
function healthz(base: string): Promise<Health> {
  return new Promise((resolve) => {
    const req = get(`${base}/healthz`, { agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        try {
          const body = JSON.parse(text) as { node?: string; reason?: string };
          resolve({ status: res.statusCode ?? 0, node: body.node ?? null, ...(body.reason ? { reason: body.reason } : {}) });
        } catch {
          resolve({ status: res.statusCode ?? 0, node: null, error: `not JSON: ${text.slice(0, 80)}` });
        }
      });
      res.on('error', (err) => resolve({ status: 0, node: null, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', (err) => resolve({ status: 0, node: null, error: err.message }));
  });
}

const describeFailure = (h: Health) => `${h.status || 'no answer'}${h.node ? ` from ${h.node}` : ''}${h.error ? ` (${h.error})` : ''}`;

/** How many of `n` requests through the balancer each node answered. */
async function spread(cluster: Cluster, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = await healthz(cluster.url);
    assert.equal(h.status, 200, `request ${i}: ${describeFailure(h)}\n${cluster.describe()}`);
    seen.set(h.node ?? '?', (seen.get(h.node ?? '?') ?? 0) + 1);
  }
  return seen;
}

describe('HAProxy in front of the nodes, as shipped', { timeout: 120_000 }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2 });
  });
  after(() => cluster?.stop());

  it('spreads requests over both nodes: no stickiness', async () => {
    const seen = await spread(cluster, 20);
    assert.deepEqual([...seen.keys()].sort(), ['node1', 'node2'], `both nodes answered: ${JSON.stringify([...seen])}`);
    // leastconn with one request at a time: neither node is left out for long.
    for (const [node, count] of seen) assert.ok(count >= 5, `${node} answered ${count} of 20`);
  });

  it('carries a WebSocket: it upgrades, authenticates with a token made by any node, and chats', async () => {
    // The token comes from whichever node took the POST; the socket may land on the other: the secret is shared.
    const identity = await createVisitor(cluster.url, 'Through');
    const client = await ProtocolClient.connect(cluster.url, identity.token, { timeoutMs: 10_000 });
    try {
      assert.equal(client.ready.identity.id, identity.visitor.id);
      const started = await client.request('chat.start', { text: 'through the balancer' });
      assert.equal(started.message?.seq, 1);
      const sent = await client.request('message.send', { sessionID: started.conversation.sessionID, clientId: 'second', text: 'and again' });
      assert.equal(sent.message.seq, 2);
    } finally {
      await client.close();
    }
    // Each node takes tokens it did not sign itself.
    for (const node of cluster.nodes) {
      const direct = await ProtocolClient.connect(node.url, identity.token);
      await direct.close();
    }
  });

  it('takes a killed node out while every request is answered by the other, and takes it back after its restart', async () => {
    const failedBefore: string[] = [];
    const failedAfter: string[] = [];
    let answeredBefore = 0;
    let down = false;
    const marked = cluster.waitBalancerSees(0, false).then(() => (down = true));
    marked.catch(() => undefined);
    await cluster.kill(0);
    // Until HAProxy counts node1 down, then as many again: one request at a time, each on a new connection.
    while (!down) {
      const h = await healthz(cluster.url);
      if (h.status === 200 && h.node === 'node2') answeredBefore++;
      else failedBefore.push(describeFailure(h));
    }
    await marked;
    for (let i = 0; i < Math.max(answeredBefore, 50); i++) {
      const h = await healthz(cluster.url);
      if (h.status !== 200 || h.node !== 'node2') failedAfter.push(describeFailure(h));
    }
    console.log(
      `# node1 killed: ${answeredBefore + failedBefore.length} requests before HAProxy counted it DOWN, ${failedBefore.length} failed; ` +
        `${Math.max(answeredBefore, 50)} after, ${failedAfter.length} failed`,
    );
    assert.deepEqual(failedAfter, [], 'once node1 is out, node2 answers everything');
    assert.deepEqual(failedBefore, [], 'meanwhile a request for the dead node1 is redispatched to node2');
    assert.ok(answeredBefore > 0, 'requests went on while the health check noticed');

    await cluster.start(0);
    await cluster.waitBalancerSees(0, true);
    const seen = await spread(cluster, 10);
    assert.ok((seen.get('node1') ?? 0) > 0, `node1 is back in rotation: ${JSON.stringify([...seen])}`);
  });
});

describe('HAProxy in front of the nodes, Redis gone for all of them', { timeout: 120_000 }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2, redisViaProxy: true });
  });
  after(() => cluster?.stop());

  it('still reaches the nodes, which serve what they can, and puts them back in rotation when Redis returns', async () => {
    cluster.cutRedis();
    await cluster.waitBalancerSees(0, false);
    await cluster.waitBalancerSees(1, false);
    // The balancer's own 503 would name no node: the nodes answer, saying why they are not fully well.
    const seen = new Set<string | null>();
    for (let i = 0; i < 10; i++) {
      const h = await healthz(cluster.url);
      assert.equal(h.status, 503, describeFailure(h));
      assert.match(h.reason ?? '', /the bus is unavailable/, `answered by a node: ${describeFailure(h)}`);
      seen.add(h.node);
    }
    assert.deepEqual([...seen].sort(), ['node1', 'node2'], 'both nodes, still balanced');
    // A visitor still gets in and chats on whichever node it reaches: the store is there.
    const identity = await createVisitor(cluster.url, 'No bus');
    const client = await ProtocolClient.connect(cluster.url, identity.token, { timeoutMs: 10_000 });
    try {
      const started = await client.request('chat.start', { text: 'while Redis is away' });
      assert.equal(started.message?.seq, 1);
    } finally {
      await client.close();
    }

    cluster.restoreRedis();
    await cluster.waitBalancerSees(0, true);
    await cluster.waitBalancerSees(1, true);
    const back = await spread(cluster, 10);
    assert.deepEqual([...back.keys()].sort(), ['node1', 'node2'], `both back in rotation: ${JSON.stringify([...back])}`);
  });
});
