/*
 * What the pages of a call test ask of Janus: every VideoRoom `join` a page sends over a Janus WebSocket, with
 * the URL of that socket (which instance of a pool it went to). Recorded by an init script, so from the next
 * load of the page on.
 */
import type { Page } from 'playwright-core';
import type { CallDesk } from './callParties.ts';
import { waitFor } from './harness.ts';
import { videoroomRequest } from './janus.ts';

/** A VideoRoom `join` a page sent to Janus, and the Janus it was sent to. */
export interface JanusJoin {
  /** The Janus WebSocket URL the join went over. */
  url: string;
  request: 'join';
  ptype: 'publisher' | 'subscriber';
  room: number;
  display?: string;
  token?: string;
  pin?: string;
}

/** Records the VideoRoom joins the page sends over its Janus WebSockets (installed before the page's scripts). */
export async function recordJanusJoins(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const joins: unknown[] = [];
    (window as unknown as { janusJoins: unknown[] }).janusJoins = joins;
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
      if (typeof data === 'string' && this.protocol === 'janus-protocol') {
        try {
          const message = JSON.parse(data) as { body?: { request?: string } };
          if (message.body?.request === 'join') joins.push({ url: this.url.replace(/\/$/, ''), ...message.body });
        } catch {
          // not JSON: not ours to read
        }
      }
      return send.call(this, data);
    };
  });
}

export function janusJoins(page: Page): Promise<JanusJoin[]> {
  return page.evaluate(() => (window as unknown as { janusJoins: JanusJoin[] }).janusJoins.slice());
}

/** Loads both pages of the desk again with the join recorder, and connects them back into the desk's conversation. */
export async function reloadRecordingJoins(desk: CallDesk): Promise<void> {
  const { visitor, agent } = desk;
  for (const side of [visitor, agent]) {
    await recordJanusJoins(side.page);
    await side.load();
  }
  await visitor.connectVisitor();
  await agent.connectAgent(desk.account);
  await waitFor(async () => (await agent.sessionID()) === desk.sessionID && (await visitor.sessionID()) === desk.sessionID, {
    what: 'both pages back in the conversation',
  });
}

/** Who is in a room of the Janus at `url`, as Janus lists them: `[display, publishing]`, sorted. */
export async function roomParticipants(url: string, room: number): Promise<Array<[string, boolean]>> {
  const { participants } = await videoroomRequest(url, { request: 'listparticipants', room });
  return (participants as Array<{ display: string; publisher: boolean }>).map((p): [string, boolean] => [p.display, p.publisher]).sort();
}
