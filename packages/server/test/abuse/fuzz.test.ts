/*
 * Fuzzing the WebSocket edge (docs/security.md): every client frame type of the protocol, taken from the zod
 * union so a new frame type is fuzzed without touching this file, with each field wrong in turn, plus whole-frame
 * junk (invalid JSON, binary, frames around the 64 KiB cap), sent by an authenticated visitor, agent and guest
 * over real sockets. A seeded PRNG draws the extra random cases: the seed is printed, and `PARLEY_FUZZ_SEED`
 * replays a run.
 *
 * Held: the server never throws (no uncaught exception, /healthz 200 after), every refused request is answered
 * with one `error` of a protocol code (never `internal`), a bystander visitor and agent keep chatting with every
 * message delivered once and in order, and the fuzzed connections still serve honest requests afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientFrameSchema, ERROR_CODES, LIMITS, type GuestJoinResponse, type ServerFrame } from '@parley/protocol';
import { postJson } from '../support/http.ts';
import { ProtocolClient, type ConnectedClient } from '../support/ProtocolClient.ts';
import { newAgent, newVisitor, startTestServer } from '../support/server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = unknown;

// ---------------------------------------------------------------- a deterministic PRNG (mulberry32)

function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]! };
}

// ---------------------------------------------------------------- valid frames, from the schemas

/** Names of the world's things, so that a frame with one field wrong is otherwise aimed at something real. */
interface World {
  sessionID: string;
  callId: string;
  partyIds: string[];
  token: string;
}

interface ZodLike {
  def: { type: string; innerType?: ZodLike; values?: unknown[]; entries?: Record<string, unknown>; shape?: Record<string, ZodLike> };
  shape?: Record<string, ZodLike>;
  options?: unknown[];
  maxLength?: number | null;
}

/** A valid value for a schema; `field` names the key it sits under, to aim ids at the world's things. */
function sample(schema: ZodLike, field: string, world: World): Json {
  const def = schema.def;
  switch (def.type) {
    case 'object': {
      const out: Record<string, Json> = {};
      for (const [key, child] of Object.entries(schema.shape ?? def.shape ?? {})) out[key] = sample(child, key, world);
      return out;
    }
    case 'optional':
    case 'nullable':
      return sample(def.innerType!, field, world);
    case 'literal':
      return def.values![0];
    case 'enum':
      return Object.values(def.entries!)[0];
    case 'boolean':
      return true;
    case 'number':
      return 0;
    case 'string':
      if (field === 'sessionID') return world.sessionID;
      if (field === 'callId') return world.callId;
      if (['to', 'peerId', 'participantId', 'agentId'].includes(field)) return world.partyIds[0]!;
      if (field === 'token') return world.token;
      return 'hello';
    default:
      throw new Error(`fuzz: no sample for a zod ${def.type} (field ${field}); teach sample() this schema kind`);
  }
}

/** Every client frame type's schema, from the protocol's discriminated union. */
const FRAME_SCHEMAS = (ClientFrameSchema as unknown as { options: ZodLike[] }).options;
const typeOf = (schema: ZodLike) => (schema.shape!.type!.def.values as string[])[0]!;

/** Paths of every field of a sample (nested objects too), e.g. ['candidate', 'sdpMid']. */
function fieldPaths(value: Json, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...fieldPaths(v, [...prefix, k])]);
}

// ---------------------------------------------------------------- wrong values

const SENTINEL_MISSING = Symbol('missing');
const deepArray = (depth: number): Json => JSON.parse('['.repeat(depth) + ']'.repeat(depth));
const deepObject = (depth: number): Json => JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

/** Each wrong value a field is given in turn (NaN and Infinity become null in JSON, as a browser would send). */
const WRONG_VALUES: ReadonlyArray<readonly [string, Json | typeof SENTINEL_MISSING]> = [
  ['missing', SENTINEL_MISSING],
  ['null', null],
  ['true', true],
  ['zero', 0],
  ['negative', -1],
  ['fraction', 1.5],
  ['huge', 1e308],
  ['unsafe int', 2 ** 53 + 1],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['empty string', ''],
  ['number as string', '42'],
  ['id-length+1', 'x'.repeat(LIMITS.maxIdChars + 1)],
  ['text-length+1', 'y'.repeat(LIMITS.maxMessageChars + 1)],
  ['60k string', 'z'.repeat(60_000)],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', 'a\udc00b'],
  ['surrogates x4000', '\ud800'.repeat(4000)],
  ['zero-width only', '\u200b\u200d\ufeff'],
  ['nul and controls', '\u0000\u0001\u001b[31m'],
  ['html', '<script>alert(1)</script>'],
  ['array', ['hello']],
  ['empty object', {}],
  ['nested junk', { a: [1, { b: null }], c: { d: { e: 'f' } } }],
  ['deep array', deepArray(2000)],
  ['deep object', deepObject(2000)],
  ['other type name', 'auth'],
  ['unknown type name', 'admin.deleteEverything'],
];

/** JSON text of `frame` with raw members spliced in (for `__proto__`, which JSON.stringify cannot write as a key). */
function withRawMembers(frame: Record<string, Json>, raw: string): string {
  const text = JSON.stringify(frame);
  return text === '{}' ? `{${raw}}` : `${text.slice(0, -1)},${raw}}`;
}

const EXTRA_MEMBERS = [
  '"extra":1',
  '"__proto__":{"polluted":"yes","role":"agent"}',
  '"constructor":{"prototype":{"polluted":"yes"}}',
  '"prototype":{"polluted":"yes"}',
  '"type":"ping"', // a duplicate key: the last one wins in JSON.parse
];

/** A copy of the frame's own objects (wrong values put in earlier are shared, never changed). */
function shallowCopy(frame: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...frame };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length < 10) out[k] = { ...(v as Record<string, Json>) };
  }
  return out;
}

function setPath(frame: Record<string, Json>, path: string[], value: Json | typeof SENTINEL_MISSING): Record<string, Json> {
  const copy = shallowCopy(frame);
  let at = copy as Record<string, Json>;
  for (const key of path.slice(0, -1)) {
    // A parent made wrong by an earlier mutation becomes an object again, so the path still leads somewhere.
    if (typeof at[key] !== 'object' || at[key] === null || Array.isArray(at[key])) at[key] = {};
    at = at[key] as Record<string, Json>;
  }
  const last = path.at(-1)!;
  if (value === SENTINEL_MISSING) delete at[last];
  else at[last] = value;
  return copy;
}

/** One fuzzed frame: what goes on the wire, and whether the server can tell which request it answers. */
interface Case {
  label: string;
  wire: string | Buffer;
  /** The request id the answer must carry, when the frame is a JSON object of ≤ 64 KiB with its id intact. */
  id?: string;
}

function bytes(wire: string | Buffer): number {
  return typeof wire === 'string' ? Buffer.byteLength(wire) : wire.byteLength;
}

function finish(label: string, frame: Record<string, Json> | string, idOf: string | undefined, raw?: string): Case {
  const wire = typeof frame === 'string' ? frame : raw !== undefined ? withRawMembers(frame, raw) : JSON.stringify(frame);
  const answerable = typeof frame !== 'string' && idOf !== undefined && frame.id === idOf && bytes(wire) <= LIMITS.maxFrameBytes;
  return { label, wire, ...(answerable ? { id: idOf } : {}) };
}

/** Every field of every frame type wrong in turn, every extra member, and whole-frame junk. */
function systematicCases(world: World, nextId: () => string): Case[] {
  const cases: Case[] = [];
  for (const schema of FRAME_SCHEMAS) {
    const type = typeOf(schema);
    const base = sample(schema, type, world) as Record<string, Json>;
    for (const path of fieldPaths(base)) {
      for (const [name, value] of WRONG_VALUES) {
        const id = nextId();
        const frame = 'id' in base ? { ...base, id } : { ...base };
        cases.push(finish(`${type} ${path.join('.')}: ${name}`, setPath(frame, path, value), 'id' in base ? id : undefined));
      }
    }
    for (const raw of EXTRA_MEMBERS) {
      const id = nextId();
      const frame = 'id' in base ? { ...base, id } : { ...base };
      cases.push(finish(`${type} +${raw.slice(0, 20)}`, frame, 'id' in base ? id : undefined, raw));
    }
    // Near and above the frame cap: the frame padded by an unknown field to 64 KiB - 1 and + 1 bytes.
    for (const target of [LIMITS.maxFrameBytes - 1, LIMITS.maxFrameBytes + 1]) {
      const id = nextId();
      const frame = 'id' in base ? { ...base, id } : { ...base };
      const bare = JSON.stringify({ ...frame, pad: '' });
      const padded = { ...frame, pad: 'p'.repeat(target - Buffer.byteLength(bare)) };
      assert.equal(Buffer.byteLength(JSON.stringify(padded)), target);
      cases.push(finish(`${type} padded to ${target} bytes`, padded, 'id' in base ? id : undefined));
    }
  }
  const junk: Array<[string, string | Buffer]> = [
    ['empty text', ''],
    ['unclosed object', '{'],
    ['cut member', '{"type":'],
    ['trailing comma', '{"type":"ping","id":"x",}'],
    ['single quotes', "{'type':'ping'}"],
    ['null', 'null'],
    ['array', '[]'],
    ['string', '"ping"'],
    ['number', '1'],
    ['NaN literal', '{"type":"ping","id":NaN}'],
    ['BOM', '\ufeff{"type":"ping","id":"bom"}'],
    ['deep array 100k', '['.repeat(30_000) + ']'.repeat(30_000)],
    ['no type', '{"id":"x"}'],
    ['binary JSON', Buffer.from('{"type":"ping","id":"bin"}')],
    ['binary junk', Buffer.from([0, 1, 2, 255, 254])],
    ['binary 64 KiB + 1', Buffer.alloc(LIMITS.maxFrameBytes + 1, 1)],
    ['text 64 KiB + 1 of junk', 'x'.repeat(LIMITS.maxFrameBytes + 1)],
  ];
  for (const [label, wire] of junk) cases.push({ label: `junk: ${label}`, wire });
  return cases;
}

/** A random frame with one to three fields wrong, drawn from the seed. */
function randomCase(rand: ReturnType<typeof prng>, world: World, id: string): Case {
  const schema = rand.pick(FRAME_SCHEMAS);
  const type = typeOf(schema);
  let frame = sample(schema, type, world) as Record<string, Json>;
  const hasId = 'id' in frame;
  if (hasId) frame.id = id;
  const wrongs = 1 + rand.int(3);
  const labels: string[] = [];
  const paths = fieldPaths(frame);
  for (let i = 0; i < wrongs && paths.length > 0; i++) {
    const path = rand.pick(paths);
    const [name, value] = rand.pick(WRONG_VALUES);
    frame = setPath(frame, path, value);
    labels.push(`${path.join('.')}: ${name}`);
  }
  const raw = rand.next() < 0.2 ? rand.pick(EXTRA_MEMBERS) : undefined;
  return finish(`random ${type} ${labels.join(', ')}${raw ? ` +${raw.slice(0, 12)}` : ''}`, frame, hasId ? id : undefined, raw);
}

// ---------------------------------------------------------------- the test

const DOCUMENTED_CLOSE_CODES = new Set([1008, 1009, 1013]);

describe('fuzzing every client frame type over real sockets', () => {
  let server: Server;
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  before(async () => {
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    // Limits far above the fuzzer's pace, so that it tests parsing and authorization, not the rate limiter.
    server = await startTestServer({
      RATE_LIMIT_RPS: '100000',
      RATE_LIMIT_BURST: '1000000',
      AGENT_MAX_CHATS: '1000',
      MAX_QUEUED_PER_IP: '1000000',
      MAX_QUEUED_TOTAL: '1000000',
      VISITORS_PER_IP_PER_MINUTE: '1000000',
      GUEST_LINKS_PER_CALL: '1000',
      CALL_REQUESTS_PER_MINUTE: '1000',
    });
  });
  after(async () => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    await server.stop();
  });

  it('10,000+ wrong frames from a visitor, an agent and a guest: coded refusals, no crash, nobody else hears a thing', { timeout: 120_000 }, async () => {
    const seed = Number(process.env.PARLEY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
    console.log(`# fuzz seed ${seed} (replay with PARLEY_FUZZ_SEED=${seed})`);
    const rand = prng(seed);

    // The bystanders: a conversation of their own, then the bystander agent steps away so routing gives it nothing new.
    const byAgent = await newAgent(server, 'Bea Bystander');
    const byVisitor = await newVisitor(server, 'Bo Bystander');
    const bySession = (await byVisitor.client.request('chat.start', { text: 'bystander hello' })).conversation.sessionID;
    await byAgent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === bySession);
    await byAgent.client.request('presence.set', { presence: 'away' });

    // The fuzzed world: a visitor and an agent in a running call, and a guest of that call.
    const agent = await newAgent(server, 'Fay Fuzzed');
    const visitor = await newVisitor(server, 'Vic Fuzzed');
    const sessionID = (await visitor.client.request('chat.start', { text: 'hello' })).conversation.sessionID;
    await agent.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    const { call } = await agent.client.request('call.invite', { sessionID, useAudio: true, useVideo: false });
    await visitor.client.request('call.answer', { sessionID, callId: call.callId, accept: true });
    const invite = await visitor.client.request('guest.invite', { sessionID });
    const redeemed = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gil Guest' });
    assert.equal(redeemed.status, 201);
    const guest = await ProtocolClient.connect(server.url, redeemed.body.token);
    const world: World = {
      sessionID,
      callId: call.callId,
      partyIds: [visitor.visitor.id, agent.agent.id, guest.ready.identity.id],
      token: visitor.token,
    };

    // The bystanders chat all along; each message's arrival is checked at the end.
    let chatting = true;
    let sent = 0;
    const bystanderChat = (async () => {
      while (chatting || sent < 20) {
        sent++;
        await byVisitor.client.request('message.send', { sessionID: bySession, clientId: `bv${sent}`, text: `visitor ${sent}` });
        await byAgent.client.request('message.send', { sessionID: bySession, clientId: `ba${sent}`, text: `agent ${sent}` });
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    let n = 0;
    const nextId = () => `f${++n}`;
    const actors = [
      { name: 'visitor', token: visitor.token, client: visitor.client as ConnectedClient },
      { name: 'agent', token: agent.token, client: agent.client as ConnectedClient },
      { name: 'guest', token: redeemed.body.token, client: guest },
    ];
    // Every systematic case goes to each actor; then random cases, dealt in turn, until 10,500 in all.
    const perActor = actors.map(() => systematicCases(world, nextId));
    const systematic = perActor[0]!.length;
    for (let i = 0; perActor.reduce((sum, l) => sum + l.length, 0) < 10_500; i++) perActor[i % actors.length]!.push(randomCase(rand, world, nextId()));

    const stats = { frames: 0, results: 0, refused: new Map<string, number>(), closures: new Map<number, number>(), unanswered: 0 };
    const BATCH = 20; // below the strike limit (50 refused in a row): an honest ping after each batch
    await Promise.all(
      actors.map(async (actor, a) => {
        const list = perActor[a]!;
        for (let i = 0; i < list.length; i += BATCH) {
          const batch = list.slice(i, i + BATCH);
          const mark = actor.client.frames.length;
          for (const c of batch) actor.client.ws.send(c.wire, { binary: Buffer.isBuffer(c.wire) });
          stats.frames += batch.length;
          let pong: ServerFrame | undefined;
          try {
            pong = await actor.client.requestRaw('ping', {}, 20_000);
          } catch {
            // Closed by the server: count the reason, reconnect, go on.
            const code = await actor.client.waitClose(5000);
            stats.closures.set(code, (stats.closures.get(code) ?? 0) + 1);
            actor.client = await ProtocolClient.connect(server.url, actor.token);
            continue;
          }
          assert.equal(pong.type, 'result', `${actor.name}: an honest ping after a batch is answered: ${JSON.stringify(pong)}`);
          const answers = actor.client.frames.slice(mark);
          for (const f of answers) {
            if (f.type !== 'error') continue;
            assert.ok((ERROR_CODES as readonly string[]).includes(f.code), `unknown code ${f.code}`);
            assert.notEqual(f.code, 'internal', `internal error: ${JSON.stringify(f)} (case ${batch.find((c) => c.id === f.id)?.label})`);
            stats.refused.set(f.code, (stats.refused.get(f.code) ?? 0) + 1);
          }
          for (const c of batch) {
            if (!c.id) continue;
            const got = answers.filter((f) => (f.type === 'error' || f.type === 'result') && f.id === c.id);
            if (got.length === 0) stats.unanswered++;
            assert.equal(got.length, 1, `${actor.name}, ${c.label}: one answer, got ${JSON.stringify(got).slice(0, 300)}`);
            if (got[0]!.type === 'result') stats.results++;
          }
          // Keep the recorded frames short.
          actor.client.frames.splice(0, actor.client.frames.length);
        }
      }),
    );
    chatting = false;
    await bystanderChat;

    console.log(
      `# fuzz: ${stats.frames} frames (${systematic} systematic cases × 3 actors, the rest random), ` +
        `${stats.results} accepted, refused ${JSON.stringify(Object.fromEntries(stats.refused))}, ` +
        `closures ${JSON.stringify(Object.fromEntries(stats.closures))}, bystander messages ${sent * 2}`,
    );
    assert.ok(stats.frames >= 10_000, `only ${stats.frames} frames`);
    for (const code of stats.closures.keys()) assert.ok(DOCUMENTED_CLOSE_CODES.has(code), `closed with undocumented code ${code}`);
    assert.deepEqual(crashes, [], 'no uncaught exception or unhandled rejection');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');

    // Honest requests still work on every fuzzed connection.
    for (const actor of actors) {
      const pong = await actor.client.request('ping', {});
      assert.ok(pong.now);
    }
    // (The fuzzed conversation may be closed by now: a frame whose wrong id was still a valid one closes it rightly.)
    const fresh = await visitor.client.request('chat.start', { text: 'back again' });
    const honest = await visitor.client.request('message.send', { sessionID: fresh.conversation.sessionID, clientId: 'after-fuzz', text: 'still here' });
    assert.equal(honest.message.text, 'still here');

    // The bystanders got each other's messages exactly once, in order, and nothing of anyone else.
    const texts = (client: ConnectedClient, prefix: string) =>
      client.messages(bySession).filter((m) => m.kind === 'text' && m.text.startsWith(prefix)).map((m) => m.text);
    const expected = (prefix: string) => Array.from({ length: sent }, (_, i) => `${prefix} ${i + 1}`);
    await byAgent.client.waitFor((f) => f.type === 'message' && f.message.text === `visitor ${sent}`);
    await byVisitor.client.waitFor((f) => f.type === 'message' && f.message.text === `agent ${sent}`);
    assert.deepEqual(texts(byAgent.client, 'visitor'), expected('visitor'));
    assert.deepEqual(texts(byVisitor.client, 'agent'), expected('agent'));
    const strays = (client: ConnectedClient) =>
      client.frames.filter((f) => {
        if (f.type === 'result' || f.type === 'ready') return false;
        // News every agent gets by right: the queue and colleagues' presence.
        if (f.type === 'queue.updated' || f.type === 'presence.changed') return client === byVisitor.client;
        const s = 'sessionID' in f ? f.sessionID : f.type === 'message' ? f.message.sessionID : 'conversation' in f ? f.conversation.sessionID : undefined;
        return s !== bySession;
      });
    assert.deepEqual(strays(byVisitor.client), [], 'the bystander visitor hears nothing of the fuzzing');
    assert.deepEqual(strays(byAgent.client), [], 'the bystander agent hears nothing of the fuzzed conversation');

    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    for (const actor of actors) await actor.client.close();
    await Promise.all([byAgent.client.close(), byVisitor.client.close()]);
  });

  it('a frame over the hard limit closes only that socket (1009), and the server answers after', { timeout: 30_000 }, async () => {
    const v = await newVisitor(server, 'Big Frame');
    v.client.ws.send('{"type":"ping","id":"big","pad":"' + 'x'.repeat(1024 * 1024) + '"}');
    assert.equal(await v.client.waitClose(10_000), 1009);
    const again = await ProtocolClient.connect(server.url, v.token);
    assert.ok((await again.request('ping', {})).now);
    await again.close();
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

describe('the rate limiter, on its defaults, closes a flood', () => {
  let server: Server;
  before(async () => {
    server = await startTestServer({ RATE_LIMIT_RPS: '20', RATE_LIMIT_BURST: '60' });
  });
  after(async () => {
    await server.stop();
  });

  it('a flood of pings is refused with rate_limited, then the connection is closed with 1008; others are served', { timeout: 30_000 }, async () => {
    const flooder = await newVisitor(server, 'Flo Flood');
    const other = await newVisitor(server, 'Otto Other');
    for (let i = 0; i < 2000 && flooder.client.ws.readyState === flooder.client.ws.OPEN; i++) flooder.client.sendRaw({ type: 'ping', id: `p${i}` });
    assert.equal(await flooder.client.waitClose(10_000), 1008);
    const limited = flooder.client.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
    const answered = flooder.client.frames.filter((f) => f.type === 'result').length;
    console.log(`# flood: ${answered} pings answered, ${limited} rate_limited, then closed 1008`);
    assert.ok(limited > 0 && answered <= 60 + 20 * 10, `answered ${answered}, limited ${limited}`);
    assert.ok((await other.client.request('ping', {})).now, 'another visitor is served');
    await other.client.close();
  });
});
