/*
 * The authorization matrix (README, Security): every request frame type of the protocol × every kind of actor,
 * each row's outcome asserted — `ok` or the exact error code. The request types come from the protocol's zod
 * union, so a new request type fails here until the table says who may send it.
 *
 * Each row runs against a fresh world, so that an accepted row (a close, a hang-up) changes nothing for the next:
 * a visitor's conversation, active with its agent and an added colleague, and a call in progress (visitor and
 * agent joined) with a guest admitted. Outside it: another visitor, another agent, and a guest of another call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientFrameSchema, type ErrorCode, type GuestJoinResponse, type RequestType } from '@parley/protocol';
import { postJson } from '../support/http.ts';
import { ProtocolClient, type ConnectedClient, type RequestOf } from '../support/ProtocolClient.ts';
import { newAgent, newVisitor, startTestServer } from '../support/server.ts';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Outcome = 'ok' | ErrorCode;

const ACTORS = ['visitor', 'otherVisitor', 'agent', 'otherAgent', 'member', 'guest', 'otherGuest'] as const;
type Actor = (typeof ACTORS)[number];

/** Request types of the protocol: the union's members with an `id`, but `auth` (it is answered by `ready`). */
const REQUEST_TYPES = (ClientFrameSchema as unknown as { options: Array<{ shape: Record<string, { def: { values: string[] } }> }> }).options
  .filter((s) => 'id' in s.shape)
  .map((s) => s.shape.type!.def.values[0]!)
  .filter((t) => t !== 'auth') as RequestType[];

/**
 * Expected outcomes, in ACTORS order: visitor, other visitor, agent, other agent, member, guest, other guest.
 * Outsiders of the conversation get `forbidden`; a request that does not fit the world's state gets `conflict`.
 */
const TABLE: Record<RequestType, readonly Outcome[]> = {
  //                              visitor      otherVisitor agent        otherAgent   member       guest        otherGuest
  'chat.start':                  ['ok',        'ok',        'forbidden', 'forbidden', 'forbidden', 'forbidden', 'forbidden'],
  'message.send':                ['ok',        'forbidden', 'ok',        'forbidden', 'ok',        'forbidden', 'forbidden'],
  'conversation.close':          ['ok',        'forbidden', 'ok',        'forbidden', 'forbidden', 'forbidden', 'forbidden'],
  'conversation.sync':           ['ok',        'forbidden', 'ok',        'forbidden', 'ok',        'forbidden', 'forbidden'],
  'queue.list':                  ['forbidden', 'forbidden', 'ok',        'ok',        'ok',        'forbidden', 'forbidden'],
  'conversation.accept':         ['forbidden', 'forbidden', 'conflict',  'conflict',  'conflict',  'forbidden', 'forbidden'],
  'presence.set':                ['forbidden', 'forbidden', 'ok',        'ok',        'ok',        'forbidden', 'forbidden'],
  'agents.list':                 ['forbidden', 'forbidden', 'ok',        'ok',        'ok',        'forbidden', 'forbidden'],
  ping:                          ['ok',        'ok',        'ok',        'ok',        'ok',        'ok',        'ok'],
  'conversation.addParticipant': ['forbidden', 'forbidden', 'ok',        'forbidden', 'ok',        'forbidden', 'forbidden'],
  // Participants of the call invite guests: the member is one (invited into the call when it was added).
  'guest.invite':                ['ok',        'forbidden', 'ok',        'forbidden', 'ok',        'forbidden', 'forbidden'],
  'call.request':                ['conflict',  'forbidden', 'forbidden', 'forbidden', 'forbidden', 'forbidden', 'forbidden'],
  'call.invite':                 ['forbidden', 'forbidden', 'conflict',  'forbidden', 'forbidden', 'forbidden', 'forbidden'],
  // The world's call is in progress, so its participants' answer or cancel is out of place (`conflict`);
  // outsiders are refused for who they are before the call's state is looked at, so they learn nothing of it.
  'call.answer':                 ['conflict',  'forbidden', 'conflict',  'forbidden', 'conflict',  'conflict',  'forbidden'],
  'call.cancel':                 ['conflict',  'forbidden', 'conflict',  'forbidden', 'conflict',  'conflict',  'forbidden'],
  'call.hangup':                 ['ok',        'forbidden', 'ok',        'forbidden', 'ok',        'ok',        'forbidden'],
  'call.join':                   ['ok',        'forbidden', 'ok',        'forbidden', 'ok',        'ok',        'forbidden'],
  'call.leave':                  ['ok',        'forbidden', 'ok',        'forbidden', 'ok',        'ok',        'forbidden'],
  'call.remove':                 ['forbidden', 'forbidden', 'ok',        'forbidden', 'forbidden', 'forbidden', 'forbidden'],
  // A joined participant shares its own screen; the member and the guest have not joined the media (`conflict`).
  'call.screen':                 ['ok',        'forbidden', 'ok',        'forbidden', 'conflict',  'conflict',  'forbidden'],
};

/** Requests that leave the world as it was when accepted (a new chat, a message and presence are beside the point). */
const READ_ONLY = new Set<RequestType>(['chat.start', 'message.send', 'conversation.sync', 'queue.list', 'presence.set', 'agents.list', 'ping']);

describe('the authorization matrix: every request type × every actor', () => {
  let server: Server;
  let ann: Awaited<ReturnType<typeof newAgent>>;
  let bob: Awaited<ReturnType<typeof newAgent>>;
  let cy: Awaited<ReturnType<typeof newAgent>>;
  let dan: Awaited<ReturnType<typeof newAgent>>;
  let otherVisitor: Awaited<ReturnType<typeof newVisitor>>;
  let otherGuest: ConnectedClient;
  before(async () => {
    server = await startTestServer({ AGENT_MAX_CHATS: '1000', MESH_MAX_PARTICIPANTS: '8', VISITORS_PER_IP_PER_MINUTE: '100000', MAX_QUEUED_PER_IP: '100000', RATE_LIMIT_BURST: '10000' });
    // Ann takes every new chat; the others stay away (routing skips them; they can still be added).
    for (const name of ['Bob Member', 'Cy Other', 'Dan Spare']) {
      const a = await newAgent(server, name);
      await a.client.request('presence.set', { presence: 'away' });
      if (name.startsWith('Bob')) bob = a;
      else if (name.startsWith('Cy')) cy = a;
      else dan = a;
    }
    ann = await newAgent(server, 'Ann Agent');
    otherVisitor = await newVisitor(server, 'Olga Other');
    otherGuest = (await world()).guest;
    open.splice(0); // that world stays up: its guest is the guest of another call
  });
  after(async () => {
    await server.stop();
  });

  const open: ProtocolClient[] = [];
  /** A conversation with Ann and Bob (added), a call in progress with visitor and Ann joined, a guest admitted. */
  async function world() {
    const v = await newVisitor(server, 'Vera Visitor');
    open.push(v.client);
    const sessionID = (await v.client.request('chat.start', { text: 'hello' })).conversation.sessionID;
    await ann.client.waitFor((f) => f.type === 'conversation.assigned' && f.conversation.sessionID === sessionID);
    const { call } = await ann.client.request('call.invite', { sessionID, useAudio: true, useVideo: false });
    await v.client.request('call.answer', { sessionID, callId: call.callId, accept: true });
    await v.client.request('call.join', { sessionID, callId: call.callId });
    await ann.client.request('call.join', { sessionID, callId: call.callId });
    await ann.client.request('conversation.addParticipant', { sessionID, agentId: bob.agent.id });
    const invite = await v.client.request('guest.invite', { sessionID });
    // Redeeming links is limited per address (burst 10, then one a second): wait it out.
    let redeemed = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gus Guest' });
    while (redeemed.status === 429) {
      await new Promise((r) => setTimeout(r, 1000));
      redeemed = await postJson<GuestJoinResponse>(`${server.url}/api/guests`, { token: invite.token, name: 'Gus Guest' });
    }
    assert.equal(redeemed.status, 201, JSON.stringify(redeemed.body));
    const guest = await ProtocolClient.connect(server.url, redeemed.body.token);
    open.push(guest);
    return { v, sessionID, callId: call.callId, guest, guestId: guest.ready.identity.id, spent: false };
  }

  function body(type: RequestType, w: Awaited<ReturnType<typeof world>>, actor: Actor): RequestOf<RequestType> {
    const { sessionID, callId } = w;
    const bodies: { [T in RequestType]: RequestOf<T> } = {
      'chat.start': { text: 'another chat' },
      'message.send': { sessionID, clientId: `m-${actor}`, text: 'hi' },
      'conversation.close': { sessionID },
      'conversation.sync': { sessionID, afterSeq: 0 },
      'queue.list': {},
      'conversation.accept': { sessionID },
      'presence.set': { presence: actor === 'agent' ? 'online' : 'away' },
      'agents.list': {},
      ping: {},
      'conversation.addParticipant': { sessionID, agentId: dan.agent.id },
      'guest.invite': { sessionID },
      'call.request': { sessionID, useAudio: true, useVideo: false },
      'call.invite': { sessionID, useAudio: true, useVideo: false },
      'call.answer': { sessionID, callId, accept: true },
      'call.cancel': { sessionID, callId },
      'call.hangup': { sessionID, callId },
      'call.join': { sessionID, callId },
      'call.leave': { sessionID, callId },
      // Removing the guest: the conversation's agent may; nobody else here.
      'call.remove': { sessionID, callId, participantId: w.guestId },
      'call.screen': { sessionID, callId, on: true, stream: `screen-${actor}` },
    };
    return bodies[type];
  }

  it('every row holds', { timeout: 120_000 }, async () => {
    assert.deepEqual([...REQUEST_TYPES].sort(), Object.keys(TABLE).sort(), 'the table has a row for every request type, and only those');
    const summary: string[] = [];
    const wrong: string[] = [];
    for (const type of REQUEST_TYPES) {
      const got: Outcome[] = [];
      let w = await world();
      for (const [i, actor] of ACTORS.entries()) {
        if (w.spent) w = await world();
        const client: ProtocolClient = {
          visitor: w.v.client,
          otherVisitor: otherVisitor.client,
          agent: ann.client,
          otherAgent: cy.client,
          member: bob.client,
          guest: w.guest,
          otherGuest,
        }[actor];
        const answer = await client.requestRaw(type, body(type, w, actor));
        const outcome: Outcome = answer.type === 'result' ? 'ok' : answer.type === 'error' ? answer.code : 'internal';
        got.push(outcome);
        // An accepted request that changes the conversation or its call spends the world: the next row gets a fresh one.
        if (outcome === 'ok' && !READ_ONLY.has(type)) {
          w.spent = true;
          for (const c of open.splice(0)) await c.close();
        }
        if (outcome !== TABLE[type][i]) wrong.push(`${type} by ${actor}: expected ${TABLE[type][i]}, got ${outcome} (${JSON.stringify(answer).slice(0, 200)})`);
        // Back to the standing arrangement: Ann online and the colleagues away; the world's sockets closed.
        if (type === 'presence.set' && outcome === 'ok') await client.request('presence.set', { presence: actor === 'agent' ? 'online' : 'away' });
      }
      for (const c of open.splice(0)) await c.close();
      summary.push(`${type.padEnd(28)} ${got.map((o) => (o === 'ok' ? 'ok' : o).padEnd(10)).join(' ')}`);
    }
    console.log(`# ${''.padEnd(28)} ${ACTORS.map((a) => a.padEnd(10)).join(' ')}\n${summary.map((l) => `# ${l}`).join('\n')}`);
    assert.deepEqual(wrong, []);
  });
});
