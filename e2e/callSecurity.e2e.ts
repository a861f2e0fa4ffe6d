/*
 * Who may do what in a call, enforced by the server: the visitor cannot answer its own request (through the
 * SDK or with a raw frame on its own token), and another visitor — a third identity with a valid token —
 * cannot answer, join, signal into or hang up someone else's call. Refused actions change nothing: the
 * call stays where it was and media keeps flowing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorFrame, ServerFrame } from '@parley/protocol';
import { openCallDesk, type CallPage } from './support/callParties.ts';
import { browserOnly } from './support/fixture.ts';
import { waitFor } from './support/harness.ts';
import { CALL_DIV_ID, timeline, waitForMediaFlowing } from './support/media.ts';
import { createVisitor } from '../packages/server/test/support/http.ts';
import { ProtocolClient, ProtocolError } from '../packages/server/test/support/ProtocolClient.ts';

const spec = browserOnly();
const { cleanup } = spec;

/** The visitor's token, as the SDK keeps it in the page's storage. */
async function storedVisitorToken(visitor: CallPage): Promise<string> {
  const token = await visitor.page.evaluate(() => {
    const raw = localStorage.getItem(`parley:${location.origin}:visitor`);
    return raw ? (JSON.parse(raw) as { token?: string }).token ?? null : null;
  });
  assert.ok(token, 'the SDK keeps the visitor token in localStorage');
  return token;
}

/** Rejects with the error frame's code, or fails when the request was accepted. */
async function refusedCode(request: Promise<unknown>): Promise<string> {
  try {
    const accepted = await request;
    assert.fail(`the server accepted the request: ${JSON.stringify(accepted)}`);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.frame.code;
  }
}

const isError = (frame: ServerFrame): frame is ErrorFrame => frame.type === 'error';

test('the server refuses a visitor answering its own request and an outsider answering, joining, signalling or ending the call', async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { server, visitor, agent, sessionID } = desk;
  const agentSince = await agent.eventCount();
  await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  await agent.waitForEvent('requestVideoUpgrade', { since: agentSince });
  const callId = await visitor.latestCallId();

  // The visitor answering its own request with a raw frame, on its own token.
  const self = await ProtocolClient.connect(server.url, await storedVisitorToken(visitor));
  cleanup.add(() => self.close());
  assert.equal(
    await refusedCode(self.request('call.answer', { sessionID, callId, accept: true })),
    'forbidden',
    'call.answer from the requesting visitor is forbidden',
  );

  // A third identity: a valid visitor token, but not a member of this conversation.
  const stranger = await createVisitor(server.url, 'Mallory Outsider');
  const outsider = await ProtocolClient.connect(server.url, stranger.token);
  cleanup.add(() => outsider.close());
  assert.equal(
    await refusedCode(outsider.request('call.answer', { sessionID, callId, accept: true })),
    'forbidden',
    "an outsider's call.answer is forbidden",
  );
  assert.equal(await refusedCode(outsider.request('call.join', { sessionID, callId })), 'forbidden', "an outsider's call.join is forbidden");

  assert.equal((await visitor.video()).state, 'requested', 'the refused answers changed nothing: the call still rings');
  assert.equal((await agent.video()).state, 'requested');

  // The agent accepts; the call runs; the outsider tries to signal into it and to end it.
  await agent.actOk('responseVideoUpgrade', [true, CALL_DIV_ID]);
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'the call up: visitor → agent' });
  const errorsBefore = outsider.frames.filter(isError).length;
  outsider.send({
    type: 'signal',
    sessionID,
    callId,
    to: agent.id,
    description: { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' },
  });
  outsider.send({ type: 'signal', sessionID, callId, to: visitor.id, candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
  const refusals = await waitForErrors(outsider, errorsBefore + 2);
  assert.deepEqual(refusals.map((e) => e.code), ['forbidden', 'forbidden'], "both of the outsider's signal frames are refused as forbidden");
  assert.equal(
    await refusedCode(outsider.request('call.hangup', { sessionID, callId })),
    'forbidden',
    "an outsider's call.hangup is forbidden",
  );

  const relayed = (await timeline(agent.page)).filter((e) => e.what.startsWith('ws:recv signal') && (e.detail ?? '').includes(stranger.visitor.id));
  assert.deepEqual(relayed, [], 'no signal from the outsider reached the agent');
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'media still flows after the refused frames: visitor → agent' });
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'media still flows after the refused frames: agent → visitor' });
  assert.equal((await visitor.video()).state, 'active');
  await visitor.actOk('endVideo');
});

test("the visitor's SDK refuses to answer its own request (forbidden), and the call still connects when the agent accepts", async () => {
  const desk = await openCallDesk(spec.browser, cleanup);
  const { visitor, agent } = desk;
  const agentSince = await agent.eventCount();
  await visitor.actOk('requestVideoUpgrade', [CALL_DIV_ID, true, true]);
  await agent.waitForEvent('requestVideoUpgrade', { since: agentSince });

  const viaSdk = await visitor.act('responseVideoUpgrade', [true, CALL_DIV_ID]);
  assert.equal(viaSdk.ok, false, 'responseVideoUpgrade on the visitor side is refused');
  assert.equal(!viaSdk.ok && viaSdk.code, 'forbidden', `refused as forbidden: ${JSON.stringify(viaSdk)}`);
  assert.equal((await visitor.video()).state, 'requested', 'the refused answer changed nothing');

  await agent.actOk('responseVideoUpgrade', [true, CALL_DIV_ID]);
  await waitForMediaFlowing(agent.page, { remoteId: visitor.id, what: 'the call after the refused self-answer: visitor → agent' });
  await waitForMediaFlowing(visitor.page, { remoteId: agent.id, what: 'the call after the refused self-answer: agent → visitor' });
  await visitor.actOk('endVideo');
});

/** Waits until the client holds `count` error frames; returns the last two. */
async function waitForErrors(client: ProtocolClient, count: number): Promise<ErrorFrame[]> {
  await waitFor(() => client.frames.filter(isError).length >= count, {
    what: `${count} error frames for the outsider (got ${JSON.stringify(client.frames.filter(isError))})`,
  });
  return client.frames.filter(isError).slice(-2);
}
