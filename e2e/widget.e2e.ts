/*
 * The visitor widget on the demo shop, clicked through by role and accessible name: open it, write,
 * get an answer, reload and change page without losing the conversation, lose the server and get it
 * back, see the conversation close; payloads shown as text; axe; a phone-sized screen.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import { browserAndServer } from './support/fixture.ts';
import { viewportShot, freePort, newParty, startParley, waitFor, type AgentAccount, type ParleyServer } from './support/harness.ts';
import { DeskAgent, axeProblems, chatFrame, launcher, waitForWidgetText, widgetComposer, widgetFrame, widgetSend, widgetTexts } from './support/widgetDesk.ts';

/** A third-party site on its own origin whose only page embeds the widget from `parleyUrl`. */
async function thirdPartySite(parleyUrl: string): Promise<{ url: string; server: Server }> {
  const port = await freePort();
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another shop</title>' +
    `<script src="${parleyUrl}/widget.js" async data-color="#7a2e8a" data-position="left"></script>` +
    '</head><body><main><h1>Another shop</h1></main></body></html>';
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html));
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${port}`, server };
}

const account: AgentAccount = { email: 'ana@example.test', name: 'Ana Agent', password: 'correct horse battery' };

describe('visitor widget', () => {
  const spec = browserAndServer([account]);
  const { cleanup } = spec;

  test('open, write, queue, an agent answers; reload and the second page keep the conversation', async () => {
    const visitor = await newParty(spec.browser, spec.server.url);
    cleanup.add(() => visitor.context.close());
    const { page } = visitor;
    await page.goto('/');
    // Before any click only the loader runs: no frame yet.
    assert.equal(page.frames().length, 1, 'no chat frame before the visitor opens the chat');
    await launcher(page).click();
    await widgetSend(page, 'Hello, do you ship to Norway?');
    await waitForWidgetText(page, 'Hello, do you ship to Norway?');
    await widgetFrame(page).getByText('Waiting for an agent').first().waitFor();

    const agent = await DeskAgent.open(spec.browser, spec.server.url, account);
    cleanup.add(() => agent.party.context.close());
    const sessionID = await agent.acceptWaiting();
    await widgetFrame(page).getByRole('heading', { name: 'Ana Agent' }).waitFor();
    await widgetFrame(page).getByText('Online', { exact: true }).waitFor();

    await agent.typing(sessionID, true);
    await widgetFrame(page).getByText('Ana Agent is typing…').waitFor();
    await agent.send(sessionID, 'Yes, we do — 3 to 5 days.');
    await waitForWidgetText(page, 'Yes, we do — 3 to 5 days.');
    await viewportShot(page, 'widget-chat');

    await page.reload();
    await waitForWidgetText(page, 'Yes, we do — 3 to 5 days.');
    assert.deepEqual(
      (await widgetTexts(page)).slice(0, 2),
      ['Hello, do you ship to Norway?', 'Yes, we do — 3 to 5 days.'],
      'the same conversation after a reload',
    );

    await page.getByRole('link', { name: 'Grinders' }).click();
    await page.waitForURL('**/widget/shop-2.html');
    await waitForWidgetText(page, 'Yes, we do — 3 to 5 days.');
    await widgetSend(page, 'Sent from the grinders page');
    await agent.waitForText(sessionID, 'Sent from the grinders page');

    // Minimize, then the agent writes: the launcher says so; opening shows the message.
    await widgetFrame(page).getByRole('button', { name: 'Minimize chat' }).click();
    await assert.doesNotReject(launcher(page).waitFor());
    await agent.send(sessionID, 'Anything else?');
    await waitFor(async () => (await launcher(page).getAttribute('aria-describedby')) !== null, { what: 'an unread count on the launcher' });
    await launcher(page).click();
    await waitForWidgetText(page, 'Anything else?');
    await waitFor(async () => (await launcher(page, 'Close chat').getAttribute('aria-describedby')) === null, { what: 'the unread count to clear' });

    // The agent ends the conversation: the closed state, and a way to start again.
    await agent.close(sessionID);
    await widgetFrame(page).getByText('This conversation has ended.').waitFor();
    await widgetFrame(page).getByRole('button', { name: 'Start a new chat' }).click();
    await widgetComposer(page).waitFor();
    assert.deepEqual(visitor.errors.filter((e) => !e.includes('404')), [], 'no page errors');
  });

  test('reconnecting state while the server is away; messages written meanwhile arrive', async () => {
    const own = await spec.startServer([account]);
    let restarted: ParleyServer | null = null;
    cleanup.add(() => restarted?.stop());
    const visitor = await newParty(spec.browser, own.url);
    cleanup.add(() => visitor.context.close());
    const { page } = visitor;
    await page.goto('/');
    await launcher(page).click();
    await widgetSend(page, 'Before the outage');
    await waitForWidgetText(page, 'Before the outage');

    const port = Number(new URL(own.url).port);
    await own.kill('SIGKILL');
    await widgetFrame(page).getByText('Reconnecting…').first().waitFor({ timeout: 20_000 });
    await widgetSend(page, 'Written while offline');
    restarted = await startParley({ dataDir: own.dataDir, port });
    await waitFor(async () => (await widgetFrame(page).getByText('Reconnecting…').count()) === 0, {
      what: 'the reconnecting state to clear',
      timeoutMs: 40_000,
    });
    const agent = await DeskAgent.open(spec.browser, restarted.url, account);
    cleanup.add(() => agent.party.context.close());
    const sessionID = await agent.acceptWaiting();
    await agent.waitForText(sessionID, 'Written while offline');
    assert.deepEqual((await agent.texts(sessionID)).filter((t) => t === 'Written while offline').length, 1, 'exactly once');
  });

  test('HTML and script in chat text show as text on the widget', async () => {
    const payloads = [
      '<img src=x onerror="window.__xss=1">',
      '<script>window.__xss=2</script>',
      '"><svg onload="window.__xss=3">',
      '<a href="javascript:window.__xss=4">click</a>',
      '&lt;b&gt;entity&lt;/b&gt; <b>bold</b>',
    ];
    const own = await spec.startServer([account]);
    const visitor = await newParty(spec.browser, own.url);
    cleanup.add(() => visitor.context.close());
    const { page } = visitor;
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs += 1;
      void d.dismiss();
    });
    await page.goto('/');
    await launcher(page).click();
    await widgetSend(page, payloads[0]!);
    await waitForWidgetText(page, payloads[0]!);
    const agent = await DeskAgent.open(spec.browser, own.url, account);
    cleanup.add(() => agent.party.context.close());
    const sessionID = await agent.acceptWaiting();
    for (const payload of payloads.slice(1)) await widgetSend(page, payload);
    for (const payload of payloads) await agent.send(sessionID, `agent: ${payload}`);
    for (const payload of payloads) {
      await waitForWidgetText(page, payload);
      await waitForWidgetText(page, `agent: ${payload}`);
    }
    const frame = await chatFrame(page);
    assert.equal(await frame.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assert.equal(await frame.locator('.transcript img, .transcript script, .transcript svg, .transcript a, .transcript b').count(), 0);
    assert.equal(dialogs, 0);
  });

  test('axe: no serious or critical problems on the demo page and in the widget', async () => {
    const visitor = await newParty(spec.browser, spec.server.url);
    cleanup.add(() => visitor.context.close());
    const { page } = visitor;
    await page.goto('/');
    await launcher(page).waitFor();
    assert.deepEqual(await axeProblems(page), [], 'demo page with the launcher');
    await launcher(page).click();
    await widgetSend(page, 'Checking accessibility');
    await waitForWidgetText(page, 'Checking accessibility');
    assert.deepEqual(await axeProblems(await chatFrame(page)), [], 'the open chat panel');
    assert.deepEqual(await axeProblems(page), [], 'demo page with the panel open');
  });

  test('a phone-sized screen gets the chat full screen', async () => {
    const context = await spec.browser.newContext({ baseURL: spec.server.url, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    cleanup.add(() => context.close());
    const page = await context.newPage();
    await page.goto('/');
    await launcher(page).click();
    await widgetComposer(page).waitFor();
    const box = await page.locator('iframe[title="Chat window"]').boundingBox();
    assert.deepEqual(box && [box.x, box.y, box.width, box.height], [0, 0, 390, 844], 'the frame covers the screen');
    await widgetSend(page, 'Hi from my phone');
    await waitForWidgetText(page, 'Hi from my phone');
    await viewportShot(page, 'widget-phone');
    await widgetFrame(page).getByRole('button', { name: 'Minimize chat' }).click();
    await launcher(page).waitFor();
  });

  test('on an allowed third-party site the widget works; on any other site it fails visibly and harmlessly', async () => {
    const parleyPort = await freePort();
    const parleyUrl = `http://127.0.0.1:${parleyPort}`;
    const allowed = await thirdPartySite(parleyUrl);
    const other = await thirdPartySite(parleyUrl);
    cleanup.add(() => new Promise((done) => allowed.server.close(done)));
    cleanup.add(() => new Promise((done) => other.server.close(done)));
    await spec.startServer([], { port: parleyPort, env: { ALLOWED_ORIGINS: `${parleyUrl},${allowed.url}` } });

    const visitor = await newParty(spec.browser);
    cleanup.add(() => visitor.context.close());
    const { page } = visitor;
    await page.goto(allowed.url);
    await launcher(page).click();
    await widgetSend(page, 'Hello from another site');
    await waitForWidgetText(page, 'Hello from another site');

    await page.goto(other.url);
    await launcher(page).click();
    // The frame is refused (CSP frame-ancestors): the loader says so, and the page itself is untouched.
    await page.getByRole('status').filter({ hasText: 'Chat is not available on this site right now.' }).waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('iframe').count(), 0, 'the refused frame is removed');
    assert.equal(await page.getByRole('heading', { name: 'Another shop' }).isVisible(), true);
    assert.deepEqual(visitor.errors.filter((e) => e.startsWith('pageerror')), [], 'no uncaught errors on the host page');
  });
});
