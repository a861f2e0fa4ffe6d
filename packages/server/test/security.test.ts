import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { LIMITS, PROTOCOL_VERSION } from '@parley/protocol';
import { TokenService } from '../src/auth/tokens.ts';
import { openStore } from '../src/store/index.ts';
import { newAgent, newVisitor, startTestServer, TEST_SECRET } from './support/server.ts';
import { postJson } from './support/http.ts';
import { ProtocolClient } from './support/ProtocolClient.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;

describe('bad input and abuse', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_RPS: '20', RATE_LIMIT_BURST: '40' });
  });
  after(async () => {
    await server.stop();
  });

  /** A visitor in a chat with an agent, and a bystander pair that must keep working through all of it. */
  async function pair() {
    const agent = await newAgent(server);
    const v = await newVisitor(server);
    const id = (await v.client.request('chat.start', {})).conversation.sessionID;
    await agent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === id);
    return { agent, v, id };
  }

  async function stillServes(p: Awaited<ReturnType<typeof pair>>, text: string) {
    await p.v.client.request('message.send', { sessionID: p.id, clientId: `ok-${text}`, text });
    await p.agent.client.waitFor((f) => f.type === 'message' && f.message.text === text);
  }

  it('malformed JSON, unknown types and wrong shapes get invalid_frame; the connection lives on', async () => {
    const p = await pair();
    p.v.client.sendRaw('{not json');
    assert.equal((await p.v.client.nextError()).code, 'invalid_frame');
    const unknown = await p.v.client.requestRaw('nuke' as never, {} as never);
    assert.equal(unknown.type === 'error' && unknown.code, 'invalid_frame');
    p.v.client.sendRaw({ type: 'message.send', id: 'q', sessionID: p.id, clientId: 1, text: 'x' });
    const shape = await p.v.client.waitFor((f) => f.type === 'error' && f.id === 'q');
    assert.equal(shape.type === 'error' && shape.code, 'invalid_frame');
    p.v.client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await p.v.client.nextError()).code, 'invalid_frame');
    await stillServes(p, 'after junk');
  });

  it('oversized frames and messages get too_large and are not stored; at the limit is fine', async () => {
    const p = await pair();
    p.v.client.sendRaw({ type: 'ping', id: 'big', pad: 'x'.repeat(LIMITS.maxFrameBytes) });
    assert.equal((await p.v.client.nextError()).code, 'too_large');
    const long = await p.v.client.requestRaw('message.send', { sessionID: p.id, clientId: 'long', text: 'y'.repeat(LIMITS.maxMessageChars + 1) });
    assert.equal(long.type === 'error' && long.code, 'too_large');
    const atLimit = await p.v.client.request('message.send', { sessionID: p.id, clientId: 'limit', text: 'z'.repeat(LIMITS.maxMessageChars) });
    assert.equal(atLimit.message.text.length, LIMITS.maxMessageChars);
    const stored = await p.v.client.request('conversation.sync', { sessionID: p.id, afterSeq: 0 });
    assert.equal(stored.messages.some((m) => m.clientId === 'long'), false);
    // Beyond the hard cap the socket is closed (1009), and the server carries on.
    const brute = await ProtocolClient.connect(server.url, p.v.token);
    brute.sendRaw('x'.repeat(2 * 1024 * 1024));
    assert.equal(await brute.waitClose(), 1009);
    await stillServes(p, 'after big');
  });

  it('a flood is rate limited for the flooder only, and sustained abuse closes its connection', async () => {
    const p = await pair();
    const bystander = await pair();
    const flooder = await ProtocolClient.connect(server.url, p.v.token);
    for (let i = 0; i < 200; i++) flooder.sendRaw({ type: 'typing', sessionID: p.id, typing: i % 2 === 0 });
    const limited = await flooder.waitFor((f) => f.type === 'error' && f.code === 'rate_limited');
    assert.ok(limited);
    assert.equal(await flooder.waitClose(), 1008, 'closed after sustained abuse');
    await stillServes(bystander, 'bystander unaffected');
    // The identity's other connection recovers once the bucket refills.
    await new Promise((r) => setTimeout(r, 1500));
    await stillServes(p, 'flooder identity recovered');
  });

  it('a visitor cannot touch another conversation, over the socket or HTTP', async () => {
    const victim = await pair();
    const intruder = await newVisitor(server, 'Mallory');
    const tries = [
      intruder.client.requestRaw('message.send', { sessionID: victim.id, clientId: 'i1', text: 'hi' }),
      intruder.client.requestRaw('conversation.sync', { sessionID: victim.id, afterSeq: 0 }),
      intruder.client.requestRaw('conversation.close', { sessionID: victim.id }),
    ];
    for (const answer of await Promise.all(tries)) assert.equal(answer.type === 'error' && answer.code, 'forbidden');
    intruder.client.sendRaw({ type: 'typing', sessionID: victim.id, typing: true });
    assert.equal((await intruder.client.nextError()).code, 'forbidden');
    const res = await fetch(`${server.url}/api/conversations/${victim.id}/messages`, { headers: { authorization: `Bearer ${intruder.token}` } });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { code: string }).code, 'forbidden');
    const other = await newAgent(server, 'Not Assigned');
    const agentTry = await other.client.requestRaw('message.send', { sessionID: victim.id, clientId: 'a', text: 'hi' });
    assert.equal(agentTry.type === 'error' && agentTry.code, 'forbidden');
    const status = await victim.v.client.request('conversation.sync', { sessionID: victim.id, afterSeq: 0 });
    assert.equal(status.conversation.status, 'active', 'the victim conversation is untouched');
    assert.equal(status.messages.some((m) => m.from.id === intruder.visitor.id), false);
  });

  it('missing, expired, tampered and foreign-signed tokens are refused with unauthorized and 4401', async () => {
    const v = await newVisitor(server);
    const expired = (await new TokenService(TEST_SECRET).issue(v.visitor as never, -60)).token;
    const [h, body, sig] = v.token.split('.');
    const claims = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'agent' })).toString('base64url')}.${sig}`;
    const foreign = await new SignJWT({ role: 'agent', name: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer('parley')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    for (const [label, token] of [['expired', expired], ['tampered', tampered], ['foreign', foreign], ['garbage', 'abc']] as const) {
      const c = await ProtocolClient.open(server.url);
      c.sendRaw({ type: 'auth', v: PROTOCOL_VERSION, token });
      const err = await c.nextError();
      assert.equal(err.code, 'unauthorized', label);
      assert.equal(await c.waitClose(), 4401, label);
    }
    const early = await ProtocolClient.open(server.url);
    early.sendRaw({ type: 'queue.list', id: '1' });
    assert.equal((await early.nextError()).code, 'unauthorized');
    assert.equal(await early.waitClose(), 4401);
    const res = await fetch(`${server.url}/api/conversations/x/messages`);
    assert.equal(res.status, 401);
    const wrongVersion = await ProtocolClient.open(server.url);
    wrongVersion.sendRaw({ type: 'auth', v: 99, token: v.token });
    assert.equal((await wrongVersion.nextError()).code, 'unsupported_version');
    // Version 1 spoke the whole queue (`queue.changed`); its clients are told, not fed frames they cannot read.
    const oldClient = await ProtocolClient.open(server.url);
    oldClient.sendRaw({ type: 'auth', v: 1, token: v.token });
    assert.equal((await oldClient.nextError()).code, 'unsupported_version');
    assert.equal(await oldClient.waitClose(), 4400);
    v.client.close();
  });

  it('a foreign Origin is refused with 403 on the socket and the API; allowed origins pass', async () => {
    await assert.rejects(ProtocolClient.open(server.url, { headers: { origin: 'https://evil.example' } }), /HTTP 403/);
    const ok = await ProtocolClient.open(server.url, { headers: { origin: server.url } });
    ok.close();
    const api = await postJson<{ code: string }>(`${server.url}/api/visitors`, {}, { origin: 'https://evil.example' });
    assert.equal(api.status, 403);
    assert.equal(api.body.code, 'forbidden');
  });

  it('bad HTTP bodies get coded errors; wrong passwords are unauthorized', async () => {
    const res = await fetch(`${server.url}/api/visitors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{oops' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'invalid_frame');
    const long = await postJson<{ code: string }>(`${server.url}/api/visitors`, { name: 'n'.repeat(500) });
    assert.equal(long.body.code, 'invalid_frame');
    const huge = await postJson<{ code: string }>(`${server.url}/api/visitors`, { name: 'n'.repeat(70_000) });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.code, 'too_large');
    const agent = await newAgent(server);
    const wrong = await postJson<{ code: string }>(`${server.url}/api/agents/login`, { email: agent.email, password: 'nope nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, 'unauthorized');
    agent.client.close();
  });
});

describe('graceful shutdown', () => {
  it('tells clients to come back (goaway, 1012) and keeps every acknowledged message', async () => {
    const server = await startTestServer();
    try {
      const agent = await newAgent(server);
      const v = await newVisitor(server);
      const id = (await v.client.request('chat.start', {})).conversation.sessionID;
      await agent.client.waitFor((f) => f.type === 'conversation.assigned');
      const sends = Array.from({ length: 20 }, (_, i) => v.client.requestRaw('message.send', { sessionID: id, clientId: `s${i}`, text: `m${i}` }));
      const acked = (await Promise.all(sends)).filter((f) => f.type === 'result').length;
      const closing = server.close();
      const goaway = await v.client.waitFor((f) => f.type === 'goaway');
      assert.equal(goaway.type === 'goaway' && goaway.reason, 'shutdown');
      assert.equal(await v.client.waitClose(), 1012);
      await closing;
      // The server's own store, reopened: SQLite's file or the PostgreSQL database the run chose.
      const store = await openStore(server);
      try {
        const page = await store.listMessages(id, { afterSeq: 0, limit: 100 });
        assert.equal(page.messages.filter((m) => m.kind === 'text').length, acked);
      } finally {
        await store.close();
      }
    } finally {
      await server.stop();
    }
  });
});
