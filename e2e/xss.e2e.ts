/*
 * Chat text is data: markup sent as messages (both ways) and as the visitor's name shows literally,
 * executes nothing and injects no elements, on the visitor page and on the agent page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  composer,
  openDemoDesk,
  queueEntry,
  setAway,
  transcriptTexts,
  visitorStartsChat,
  waitForMessage,
  waitForVisitorStatus,
} from './support/demoPages.ts';
import { browserAndServer } from './support/fixture.ts';
import { screenshot } from './support/harness.ts';

const account = { email: 'xena@example.test', name: 'Xena Agent', password: 'correct horse battery' };
const spec = browserAndServer([account]);

/** Every payload, if it ever ran, would set window.__parleyXss. */
const PAYLOADS = [
  `<img src=x onerror="window.__parleyXss='img'">`,
  `<script>window.__parleyXss='script'</script>`,
  `"><svg onload="window.__parleyXss='svg'">`,
  `<a href="javascript:window.__parleyXss='link'">click me</a>`,
  `<iframe srcdoc="<script>parent.__parleyXss='iframe'</script>"></iframe>`,
  `<details open ontoggle="window.__parleyXss='details'">x</details>`,
  `<style>*{display:none}</style><b>bold?</b>`,
  `&lt;b&gt;entities stay entities&lt;/b&gt; &amp;`,
  `\${window.__parleyXss='template'} {{constructor.constructor('window.__parleyXss=1')()}}`,
  `</textarea><input autofocus onfocus="window.__parleyXss='focus'">`,
];
const VISITOR_NAME = `<img src=x onerror="window.__parleyXss='name'">`;

/** Elements that only an injection could have put on the demo pages. */
const INJECTED = 'img, svg, iframe, details, style, object, embed, b, a[href^="javascript:"], input[autofocus]';

async function assertNothingRan(page: Page, who: string): Promise<void> {
  const flag = await page.evaluate(() => (window as unknown as { __parleyXss?: unknown }).__parleyXss);
  assert.equal(flag, undefined, `no payload executed on the ${who} page`);
  assert.equal(await page.locator(INJECTED).count(), 0, `no injected elements on the ${who} page`);
  const scripts = await page.locator('script').evaluateAll((nodes) =>
    nodes.map((node) => (node as HTMLScriptElement).getAttribute('src')),
  );
  assert.deepEqual(scripts, ['/sdk/parley.js', '/static/chat-view.js', `/static/${who}.js`], `only the page's own scripts on the ${who} page`);
}

test('markup in messages and names is shown as text and executes nothing', async () => {
  const { agent, visitor } = await openDemoDesk(spec, spec.server, account);
  await setAway(agent.page);

  await visitorStartsChat(visitor.page, spec.server.url, VISITOR_NAME);
  const entry = queueEntry(agent.page, VISITOR_NAME);
  await entry.waitFor({ timeout: 10_000 });
  assert.equal(await entry.locator('.queue-name').textContent(), VISITOR_NAME, 'the name is shown literally in the queue');
  await entry.getByRole('button', { name: 'Accept' }).click();
  await waitForVisitorStatus(visitor.page, 'connected');

  for (const payload of PAYLOADS) {
    await composer(visitor.page).fill(payload);
    await composer(visitor.page).press('Enter');
    await waitForMessage(agent.page, payload, 'the visitor payload');
    await composer(agent.page).fill(payload);
    await composer(agent.page).press('Enter');
    await waitForMessage(visitor.page, payload, 'the agent payload');
  }
  await composer(visitor.page).fill('done');
  await composer(visitor.page).press('Enter');
  await waitForMessage(agent.page, 'done');

  for (const page of [visitor.page, agent.page]) {
    const texts = await transcriptTexts(page);
    for (const payload of PAYLOADS) {
      assert.equal(texts.filter((t) => t === payload).length, 2, `payload shown literally, once per side: ${payload}`);
    }
  }
  const authors = await agent.page.locator('#transcript .msg-author').allTextContents();
  assert.ok(authors.includes(VISITOR_NAME), `the visitor's name is shown literally as the author: ${JSON.stringify(authors)}`);
  const listed = await agent.page.locator('#conversations .conversation-name').allTextContents();
  assert.deepEqual(listed, [VISITOR_NAME], 'the name is shown literally in the conversation list');
  assert.equal(
    await agent.page.getByRole('heading', { level: 2, name: `Chat with ${VISITOR_NAME}` }).count(),
    1,
    'the name is shown literally in the conversation heading',
  );

  await screenshot(visitor.page, 'xss-01-visitor-payloads-as-text');
  await screenshot(agent.page, 'xss-02-agent-payloads-as-text');
  await assertNothingRan(visitor.page, 'visitor');
  await assertNothingRan(agent.page, 'agent');
});
