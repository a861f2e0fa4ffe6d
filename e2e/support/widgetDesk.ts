/*
 * The widget's end-to-end tests drive the visitor through the real widget (demo shop page, launcher,
 * iframe) by role and accessible name. The agent's side is a stand-in: a bare page on the server's
 * origin that uses the SDK's script-tag build (`window.Parley.connectAgent`) directly, so these tests
 * do not depend on the agent workspace's markup.
 */
import { createRequire } from 'node:module';
import type { Browser, Frame, FrameLocator, Locator, Page } from 'playwright-core';
import { newParty, waitFor, type AgentAccount, type Party } from './harness.ts';
import { installInPageTools, loadCallPage } from './media.ts';

const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

/** The widget's frame as a Playwright Frame (for evaluate). */
export async function chatFrame(page: Page): Promise<Frame> {
  return waitFor(() => page.frames().find((f) => f.url().includes('/widget/frame.html')) ?? null, { what: 'the chat frame' });
}

/** Serious or critical axe-core violations in a page or frame. */
export async function axeProblems(target: Page | Frame): Promise<string[]> {
  await target.evaluate(axeSource);
  const result = (await target.evaluate(() => (window as unknown as { axe: { run(): Promise<unknown> } }).axe.run())) as {
    violations: Array<{ id: string; impact: string | null; nodes: Array<{ target: unknown }> }>;
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** The id of the element the stand-in agent renders its calls into. */
export const AGENT_CALL_DIV = 'video';

/** The widget's chat frame on a host page. */
export function widgetFrame(page: Page): FrameLocator {
  return page.frameLocator('iframe[title="Chat window"]');
}

/** The launcher button on the host page. */
export function launcher(page: Page, name: 'Open chat' | 'Close chat' = 'Open chat'): Locator {
  return page.getByRole('button', { name, exact: true });
}

/** The composer inside the widget. */
export function widgetComposer(page: Page): Locator {
  return widgetFrame(page).getByRole('textbox', { name: 'Message', exact: true });
}

/** Texts of the widget transcript's chat messages (not the call and join events), in order. */
export function widgetTexts(page: Page): Promise<string[]> {
  return widgetFrame(page).getByRole('log', { name: 'Conversation' }).locator('.msg .msg-text').allTextContents();
}

/** Waits until the widget transcript holds a message with exactly this text. */
export async function waitForWidgetText(page: Page, text: string): Promise<void> {
  await waitFor(async () => (await widgetTexts(page)).includes(text), {
    what: `${JSON.stringify(text.slice(0, 60))} in the widget transcript`,
  });
}

/** Waits until the widget's transcript, event lines included, shows `text` anywhere. */
export async function waitForWidgetLine(page: Page, text: string, what: string): Promise<void> {
  const transcript = () => widgetFrame(page).getByRole('log').first().innerText();
  await waitFor(async () => (await transcript().catch(() => '')).includes(text), { what: `${what} in the widget`, timeoutMs: 15_000 });
}

/** Types a message into the widget and presses Enter. */
export async function widgetSend(page: Page, text: string): Promise<void> {
  const box = widgetComposer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** What the stand-in agent page keeps (in its own window, not in any app). */
interface DeskWindow {
  desk: {
    agent: {
      id: string;
      queue(): Promise<Array<{ sessionID: string }>>;
      accept(id: string): Promise<unknown>;
      contacts: Array<DeskContact>;
      on(event: 'contact', cb: (c: DeskContact) => void): void;
    };
    texts: Record<string, string[]>;
    requests: number;
  };
}

interface DeskContact {
  sessionID: string;
  messages: Array<{ text: string }>;
  on(event: string, cb: (e: { text: string }) => void): void;
  sendMessage(text: string): Promise<unknown>;
  setTyping(typing: boolean): void;
  close(): Promise<void>;
  inviteToVideo(div: string, o: { useAudio: boolean; useVideo: boolean }): Promise<{ accepted: boolean }>;
  responseVideoUpgrade(accept: boolean, div?: string): Promise<void>;
  endVideo(): Promise<void>;
}

/** A stand-in agent on a bare page of the server, in its own browser context. */
export class DeskAgent {
  private constructor(readonly party: Party) {}

  get page(): Page {
    return this.party.page;
  }

  /** Opens the bare page and signs the agent in. */
  static async open(browser: Browser, baseUrl: string, account: AgentAccount): Promise<DeskAgent> {
    const party = await newParty(browser);
    await installInPageTools(party.page);
    await loadCallPage(party.page, baseUrl);
    // A string, not a function: the test runner's transpiler would add helpers the page does not have.
    const args = JSON.stringify({ server: baseUrl, email: account.email, password: account.password });
    await party.page.evaluate(`(async () => {
      const agent = await window.Parley.connectAgent(${args});
      const desk = { agent, texts: {}, requests: 0 };
      const watch = (c) => {
        if (desk.texts[c.sessionID]) return;
        desk.texts[c.sessionID] = c.messages.map((m) => m.text);
        c.on('message', (m) => desk.texts[c.sessionID].push(m.text));
        c.on('requestVideoUpgrade', () => (desk.requests += 1));
      };
      agent.on('contact', watch);
      agent.contacts.forEach(watch);
      window.desk = desk;
    })()`);
    return new DeskAgent(party);
  }

  /** Takes every waiting conversation from the queue; resolves with the sessionID of the last. */
  async acceptWaiting(): Promise<string> {
    return waitFor(
      () =>
        this.page.evaluate(async () => {
          const { agent } = (window as unknown as DeskWindow).desk;
          for (const q of await agent.queue()) await agent.accept(q.sessionID);
          return agent.contacts.at(-1)?.sessionID ?? '';
        }),
      { what: 'a conversation for the agent' },
    );
  }

  /** Runs `fn` on the conversation `sessionID` in the agent's page. */
  private onContact<A, R>(sessionID: string, fn: string, arg: A): Promise<R> {
    return this.page.evaluate(
      async ([id, body, a]) => {
        const { agent } = (window as unknown as DeskWindow).desk;
        const contact = agent.contacts.find((c) => c.sessionID === id);
        if (!contact) throw new Error(`the agent has no conversation ${id}`);
        return (new Function('contact', 'arg', `return (async () => { ${body} })()`) as (c: unknown, a: unknown) => Promise<R>)(contact, a);
      },
      [sessionID, fn, arg] as const,
    ) as Promise<R>;
  }

  send(sessionID: string, text: string): Promise<void> {
    return this.onContact(sessionID, 'await contact.sendMessage(arg);', text);
  }

  typing(sessionID: string, typing: boolean): Promise<void> {
    return this.onContact(sessionID, 'contact.setTyping(arg);', typing);
  }

  close(sessionID: string): Promise<void> {
    return this.onContact(sessionID, 'await contact.close();', null);
  }

  /** Starts an invitation (does not wait for the answer); the answer lands in `window.desk.answer`. */
  invite(sessionID: string, useVideo = true): Promise<void> {
    return this.onContact(
      sessionID,
      `contact.inviteToVideo(arg.div, { useAudio: true, useVideo: arg.video }).then((r) => (window.desk.answer = r.accepted));`,
      { div: AGENT_CALL_DIV, video: useVideo },
    );
  }

  /** Accepts the visitor's call request once it has arrived. */
  async acceptRequest(sessionID: string): Promise<void> {
    await waitFor(() => this.page.evaluate(() => (window as unknown as DeskWindow).desk.requests > 0), {
      what: "the visitor's call request to reach the agent",
    });
    await this.onContact(sessionID, 'await contact.responseVideoUpgrade(true, arg);', AGENT_CALL_DIV);
  }

  /** Ends the call from the agent's side. */
  endCall(sessionID: string): Promise<void> {
    return this.onContact(sessionID, 'await contact.endVideo();', null);
  }

  /** `contact.video.state` on the agent's side. */
  videoState(sessionID: string): Promise<string> {
    return this.onContact(sessionID, 'return contact.video.state;', null);
  }

  /** The visitor as a participant of the call, as the agent sees it (null when not in it). */
  visitorInCall(sessionID: string): Promise<{ audio: boolean; video: boolean } | null> {
    return this.onContact(
      sessionID,
      "const p = contact.video.participants.find((x) => x.role === 'visitor'); return p ? { audio: p.audio, video: p.video } : null;",
      null,
    );
  }

  /** Messages of the conversation as the agent has them. */
  texts(sessionID: string): Promise<string[]> {
    return this.page.evaluate((id) => (window as unknown as DeskWindow).desk.texts[id] ?? [], sessionID);
  }

  /** Waits until the agent has a message with exactly this text. */
  async waitForText(sessionID: string, text: string): Promise<void> {
    await waitFor(async () => (await this.texts(sessionID)).includes(text), {
      what: `${JSON.stringify(text.slice(0, 60))} to reach the agent`,
    });
  }
}

/** A remote `<video>` in `scope` (a page or the widget frame) that plays: a width, and a clock that advances. */
export async function waitForRemoteVideoPlaying(scope: Page | FrameLocator, what: string): Promise<void> {
  const video = scope.locator('video[data-participant-id]').first();
  const sample = () =>
    video.evaluate((v: HTMLVideoElement) => ({ width: v.videoWidth, time: v.currentTime })).catch(() => ({ width: 0, time: 0 }));
  const first = await waitFor(async () => {
    const s = await sample();
    return s.width > 0 ? s : null;
  }, { what: `${what}: a remote video with a picture`, timeoutMs: 20_000 });
  await waitFor(async () => (await sample()).time > first.time, { what: `${what}: the remote video's clock to advance`, timeoutMs: 20_000 });
}
