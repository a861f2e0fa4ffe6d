/*
 * The shipped balancer configuration (deploy/haproxy.cfg) in front of two node processes: no stickiness, a
 * WebSocket through it works, and a killed node is taken out by the health check while every request is answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { createVisitor } from '../support/http.ts';
import { ProtocolClient } from '../support/ProtocolClient.ts';

/**
 * GET /healthz through `url`. A reused keep-alive connection the balancer closed at the same moment fails before any
 * answer; like a browser with an idempotent request, it is sent once more on a new connection (and counted).
 */
const resent: string[] = [];
async function healthz(url: string, again = true): Promise<{ status: number; node: string | null }> {
  try {
    const res = await fetch(`${url}/healthz`);
    const body = (await res.json()) as { node?: string };
    return { status: res.status, node: body.node ?? null };
  } catch (err) {
    if (!again) return { status: 0, node: null };
    resent.push(String((err as Error).cause ?? err));
    return healthz(url, false);
  }
}

describe('HAProxy in front of the nodes, as shipped', { timeout: 120_000 }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await startCluster({ nodes: 2 });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('spreads requests over both nodes (no stickiness) and carries WebSockets', async () => {
    const seen = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const { status, node } = await healthz(cluster.url);
      assert.equal(status, 200);
      seen.set(node ?? '?', (seen.get(node ?? '?') ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ['node1', 'node2'], `both nodes answered: ${JSON.stringify([...seen])}`);
    const identity = await createVisitor(cluster.url, 'Through');
    const client = await ProtocolClient.connect(cluster.url, identity.token);
    const started = await client.request('chat.start', { text: 'through the balancer' });
    assert.equal(started.message?.seq, 1);
    client.close();
  });

  it('a killed node is taken out; every request meanwhile is answered by the other', async () => {
    await cluster.kill(0);
    const failed: string[] = [];
    let answered = 0;
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const { status, node } = await healthz(cluster.url);
      if (status === 200 && node === 'node2') answered++;
      else failed.push(`${status} from ${node ?? 'no node'}`);
    }
    await cluster.waitBalancer(0, 'DOWN');
    console.log(`# while node1 was being taken out: ${answered} answered by node2, ${failed.length} failed, ${resent.length} sent again (${resent.join('; ')})`);
    assert.deepEqual(failed, [], 'redispatch sends a request for the dead node to the other');
    assert.ok(answered > 0);
    await cluster.start(0);
    await cluster.waitBalancer(0, 'UP');
    const nodes = new Set<string | null>();
    for (let i = 0; i < 10; i++) nodes.add((await healthz(cluster.url)).node);
    assert.ok(nodes.has('node1'), 'back in rotation after its restart');
  });
});
