/*
 * A stage for the SDK's call tests (never imported by the SDK itself): the real server in process, FakeMedia
 * standing in for the browser's WebRTC, a FrameTap on the clients' sockets, and SDK sessions for a visitor and an
 * agent of one conversation. Each test has its own server, stopped (with every session) whether it passed or failed.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Contact } from '../conversation/Contact.ts';
import { HttpClient, serverAddress } from '../http.ts';
import { ClientSession } from '../session/ClientSession.ts';
import { MemoryStorage } from '../storage.ts';
import type { CallEvents } from '../call/events.ts';
import type { Party } from '../wire.ts';
import { FakeDocument } from './FakeDom.ts';
import { FakeMediaHandler, FakeNetwork } from './FakeMedia.ts';
import { FrameTap } from './FrameTap.ts';
import { routedConversation, startInProcessServer, type InProcessServer } from './inProcessServer.ts';
import { immediateRetry, until, waitFor } from './helpers.ts';

/** One test's world: the server, the network the fake peer connections share, the tap, the sessions. */
export interface Stage {
  server: InProcessServer;
  network: FakeNetwork;
  tap: FrameTap;
  sessions: ClientSession[];
}

export interface Side {
  party: Party;
  session: ClientSession;
  contact: Contact;
  media: FakeMediaHandler;
  doc: FakeDocument;
  storage: MemoryStorage;
  events: Array<[keyof CallEvents, unknown]>;
}

/** Call timings of a test page: `offerWaitMs` is how long the polite side waits for the other's first offer. */
export interface Timings {
  linkFailAfterMs?: number;
  /** How long a dropped link may stay down; by default as long as `linkFailAfterMs`. */
  linkLostAfterMs?: number;
  offerWaitMs?: number;
}

export async function connect(stage: Stage, party: Party, token: string, storage = new MemoryStorage(), { linkFailAfterMs = 3_000, linkLostAfterMs = linkFailAfterMs, offerWaitMs }: Timings = {}): Promise<Side> {
  const doc = new FakeDocument();
  doc.addDiv('video');
  const media = new FakeMediaHandler(stage.network, doc);
  const address = serverAddress(stage.server.url);
  const http = new HttpClient(address.base);
  http.token = token;
  let handOut!: (c: Contact) => void;
  const handedOut = new Promise<Contact>((resolve) => (handOut = resolve));
  const session = new ClientSession(
    {
      server: address.base,
      websocketUrl: address.websocket,
      token,
      http,
      storage,
      WebSocket: stage.tap.WebSocket(party.name),
      heartbeatIntervalMs: 0,
      retryPolicy: immediateRetry,
      call: { media, iceRestartDelayMs: 5, linkFailAfterMs, linkLostAfterMs, ...(offerWaitMs === undefined ? {} : { offerWaitMs }) },
    },
    {
      onStateChanged: () => {},
      onPush: () => {},
      onContactAdded: (c) => handOut(c),
      onContactRemoved: () => {},
      onReconnected: () => {},
      onDisconnected: () => {},
    },
  );
  stage.sessions.push(session);
  await session.start();
  const contact = await handedOut;
  const events: Side['events'] = [];
  const names: Array<keyof CallEvents> = ['requestVideoUpgrade', 'responseVideoUpgrade', 'videoInvite', 'videoStarted', 'videoEnded', 'videoError'];
  const listen = contact.on.bind(contact) as (name: keyof CallEvents, listener: (e: unknown) => void) => void;
  for (const name of names) listen(name, (e) => events.push([name, e]));
  contact.bindVideoParticipantEvent((e, eventName) => events.push(['videoParticipant', { eventName, id: e.participant.id, state: e.connectionState }]));
  return { party, session, contact, media, doc, storage, events };
}

/**
 * A server of its own for the test `t`, and on it a visitor and an agent in one active conversation,
 * both connected through the SDK. `env` configures the server.
 */
export async function conversation(t: TestContext, { env = {} as Record<string, string>, ...timings }: Timings & { env?: Record<string, string> } = {}) {
  const server = await startInProcessServer(env);
  const stage: Stage = { server, network: new FakeNetwork(), tap: new FrameTap(), sessions: [] };
  t.after(async () => {
    for (const session of stage.sessions) session.disconnect();
    stage.tap.dropConnections();
    await server.stop();
  });
  const routed = await routedConversation(server);
  const visitor = await connect(stage, routed.visitor.party, routed.visitor.token, new MemoryStorage(), timings);
  const agent = await connect(stage, routed.agent.party, routed.agent.token, new MemoryStorage(), timings);
  return { stage, visitor, agent, network: stage.network, tap: stage.tap, tokens: { visitor: routed.visitor.token, agent: routed.agent.token } };
}

/** The signals the server relayed to the clients, as their kinds: the description type or `candidate`. */
export const relayedKinds = (tap: FrameTap) => tap.receivedOf('signal').map((f) => f.description?.type ?? 'candidate');
export const named = (side: Side, name: keyof CallEvents) => side.events.filter(([n]) => n === name).map(([, e]) => e);
export const remoteVideo = (side: Side, id: string) => side.doc.body.query('video', { 'data-participant-id': id })[0];
export const connected = (side: Side) => side.contact.video.state === 'active' && named(side, 'videoStarted').length > 0;

export async function startCall(visitor: Side, agent: Side, useAudio = true, useVideo = true): Promise<void> {
  const asked = waitFor(agent.contact, 'requestVideoUpgrade');
  await visitor.contact.requestVideoUpgrade('video', useAudio, useVideo);
  const [request] = await asked;
  assert.deepEqual(request, { sessionID: visitor.contact.sessionID, useAudio, useVideo, from: visitor.party });
  await agent.contact.responseVideoUpgrade(true, 'video');
  await until(() => connected(visitor) && connected(agent), 'both sides connected');
}
