import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaAccess } from '@parley/protocol';
import { startJanus, videoroomRequest, type JanusServer } from '../../../../e2e/support/janus.ts';
import { RestartDesk, eventTexts, restartStores } from './RestartDesk.ts';

/*
 * A call through Janus outlives a restart of Parley: the room, its PIN and the participants' tokens are stored,
 * so the restarted process uses the room still running in Janus (it does not make a new one), and a Janus that
 * lost the room meanwhile gets it made again with the same id and PIN.
 */

type SfuAccess = Extract<MediaAccess, { kind: 'sfu' }>;
const sfu = (media: MediaAccess): SfuAccess => {
  assert.equal(media.kind, 'sfu');
  return media as SfuAccess;
};

for (const store of restartStores) {
  describe(`restart on ${store} with Janus: the call keeps its room`, () => {
    let janus: JanusServer;
    let desk: RestartDesk;
    before(async () => {
      janus = await startJanus();
      desk = await RestartDesk.start(store, { JANUS_URL: janus.url, CALL_GRACE_SECONDS: '20' });
    });
    after(async () => {
      await desk?.stop();
      await janus?.stop();
    });
    const roomExists = async (room: number) => (await videoroomRequest(janus.url, { request: 'exists', room })).exists === true;

    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      it(`after a ${signal}, rejoining gets the same room, and ending the call destroys it`, async () => {
        const c = await desk.activeCall();
        const before = sfu(c.visitorJoin.media);
        assert.equal(await roomExists(before.room), true);
        await desk.restart(signal);
        assert.equal(await roomExists(before.room), true, `the room outlived the ${signal}`);
        const visitor = await desk.connect(c.visitorToken);
        const agent = await desk.connect(c.agentToken);
        const rejoined = sfu((await visitor.request('call.join', { sessionID: c.sessionID, callId: c.callId })).media);
        assert.equal(rejoined.room, before.room, 'the same room is used again');
        assert.equal(rejoined.pin, before.pin);
        await agent.request('call.join', { sessionID: c.sessionID, callId: c.callId });
        await visitor.request('call.hangup', { sessionID: c.sessionID, callId: c.callId });
        await agent.waitFor((f) => f.type === 'call.updated' && f.call.callId === c.callId && f.call.state === 'ended');
        assert.equal(await roomExists(before.room), false, 'the ended call’s room is gone');
        const texts = await eventTexts(agent, c.sessionID);
        assert.equal(texts.filter((t) => /started/i.test(t)).length, 1, JSON.stringify(texts));
      });
    }
  });
}
