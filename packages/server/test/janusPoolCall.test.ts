import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaAccess, ServerFrame } from '@parley/protocol';
import { startJanus, videoroomRequest, type JanusServer } from '../../../e2e/support/janus.ts';
import { RestartDesk, callIn, eventTexts, restartStores } from './restart/RestartDesk.ts';

/*
 * A call through a Janus pool of two, on the real server (the CLI): the call's room is on one instance;
 * that instance is killed (SIGKILL) mid-call. The call is not ended: its members are told the media moved
 * (`call.updated` with `mediaMoved`), join again and get the other instance, where the PIN and the tokens
 * admit (a real Janus client joins with them); hanging up afterwards ends the call exactly once.
 */

type SfuAccess = Extract<MediaAccess, { kind: 'sfu' }>;
const sfu = (media: MediaAccess): SfuAccess => {
  assert.equal(media.kind, 'sfu');
  return media as SfuAccess;
};
const joinAs = (janus: JanusServer, access: SfuAccess) =>
  videoroomRequest(janus.url, { request: 'join', ptype: 'publisher', room: access.room, pin: access.pin, token: access.token, display: access.display });
const roomExists = async (janus: JanusServer, room: number) => (await videoroomRequest(janus.url, { request: 'exists', room })).exists === true;

for (const store of restartStores) {
  describe(`a Janus pool of two on ${store}: an instance killed mid-call`, () => {
    let a: JanusServer;
    let b: JanusServer;
    let desk: RestartDesk;
    before(async () => {
      [a, b] = await Promise.all([startJanus(), startJanus()]);
      desk = await RestartDesk.start(store, { JANUS_URL: `${a.url},${b.url}`, CALL_GRACE_SECONDS: '30' });
    });
    after(async () => {
      await desk?.stop();
      await Promise.allSettled([a?.stop(), b?.stop()]);
    });

    it("pages may connect to every instance of the pool (the CSP's connect-src)", async () => {
      const response = await fetch(`${desk.server.url}/guest`);
      const csp = response.headers.get('content-security-policy') ?? '';
      const connectSrc = csp.split(';').find((d) => d.trim().startsWith('connect-src')) ?? '';
      for (const janus of [a, b]) assert.ok(connectSrc.split(' ').includes(new URL(janus.url).origin), `${janus.url} in ${connectSrc}`);
    });

    it('the call gets a room on the other instance, its participants join again there, and it ends once', async () => {
      const c = await desk.activeCall();
      const first = sfu(c.visitorJoin.media);
      const [victim, survivor] = first.url === a.url ? [a, b] : [b, a];
      assert.equal(sfu(c.agentJoin.media).url, first.url, 'one room, on one instance');
      assert.equal(await roomExists(victim, first.room), true);
      assert.equal((await joinAs(victim, first)).videoroom, 'joined');

      await victim.kill('SIGKILL');
      const moved = (f: ServerFrame) => f.type === 'call.updated' && f.call.callId === c.callId && f.call.mediaMoved === 1;
      const [toVisitor, toAgent] = await Promise.all([c.visitor.waitFor(moved, 20_000), c.agent.waitFor(moved, 20_000)]);
      for (const frame of [toVisitor, toAgent]) {
        assert.ok(frame.type === 'call.updated');
        assert.equal(frame.call.state, 'active', 'the call goes on');
      }

      // Each participant joins again, by itself, and is handed the survivor.
      const visitorAgain = sfu((await c.visitor.request('call.join', { sessionID: c.sessionID, callId: c.callId })).media);
      const agentAgain = sfu((await c.agent.request('call.join', { sessionID: c.sessionID, callId: c.callId })).media);
      for (const access of [visitorAgain, agentAgain]) {
        assert.equal(access.url, survivor.url, 'the room is on the instance that lives');
        assert.equal(access.pin, first.pin, 'with the same PIN');
      }
      assert.equal(visitorAgain.room, agentAgain.room);
      assert.equal(await roomExists(survivor, visitorAgain.room), true);
      assert.equal((await joinAs(survivor, visitorAgain)).videoroom, 'joined', 'the new token admits there');
      assert.equal((await joinAs(survivor, { ...first, room: visitorAgain.room })).videoroom, 'joined', 'and so does the token from before the move');

      const ended = (f: ServerFrame) => f.type === 'call.updated' && f.call.callId === c.callId && f.call.state === 'ended';
      assert.equal(c.visitor.frames.filter(ended).length, 0, 'the call was not ended by the loss of its Janus');
      await c.visitor.request('call.hangup', { sessionID: c.sessionID, callId: c.callId });
      await c.agent.waitFor(callIn('ended', c.callId));
      assert.equal(await roomExists(survivor, visitorAgain.room), false, 'the ended call’s room is gone');
      const texts = await eventTexts(c.agent, c.sessionID);
      assert.equal(texts.filter((t) => /^Video call ended/.test(t)).length, 1, `ended exactly once: ${JSON.stringify(texts)}`);
      assert.equal(texts.filter((t) => /started/.test(t)).length, 1, JSON.stringify(texts));
      for (const client of [c.visitor, c.agent]) assert.equal(client.frames.filter(ended).length, 1, 'one end, told once');
    });
  });
}
