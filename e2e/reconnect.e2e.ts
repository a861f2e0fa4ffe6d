/*
 * The visitor page's status line follows the connection: "reconnecting" while the server restarts,
 * back to "connected" afterwards, with the conversation intact and the chat going on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentSignsIn, sendWithEnter, visitorStartsChat, waitForMessage, waitForVisitorStatus } from './support/demoPages.ts';
import { browserOnly } from './support/fixture.ts';
import { createAgent, makeTempDir, newParty, removeDir, screenshot, startParley } from './support/harness.ts';

const spec = browserOnly();
const { cleanup } = spec;

test('the visitor sees "reconnecting" during a server restart and the chat resumes', async () => {
  const dataDir = await makeTempDir();
  cleanup.add(() => removeDir(dataDir));
  const first = await startParley({ dataDir });
  cleanup.add(() => first.stop());
  const port = Number(new URL(first.url).port);
  const account = { email: 'rhea@example.test', name: 'Rhea Agent', password: 'correct horse battery' };
  createAgent(dataDir, account);
  const agent = await newParty(spec.browser);
  const visitor = await newParty(spec.browser);
  cleanup.add(() => agent.context.close());
  cleanup.add(() => visitor.context.close());

  await agentSignsIn(agent.page, first.url, account);
  await visitorStartsChat(visitor.page, first.url, 'Ivan Interrupted');
  await waitForVisitorStatus(visitor.page, 'connected');
  await sendWithEnter(visitor.page, 'Before the restart');
  await waitForMessage(agent.page, 'Before the restart');

  await first.stop();
  await waitForVisitorStatus(visitor.page, 'reconnecting');
  await screenshot(visitor.page, 'reconnect-01-visitor-reconnecting');

  const second = await startParley({ dataDir, port });
  cleanup.add(() => second.stop());
  await waitForVisitorStatus(visitor.page, 'connected');
  await sendWithEnter(visitor.page, 'After the restart');
  await waitForMessage(agent.page, 'After the restart', 'the visitor message after the restart');
  assert.equal(await agent.page.locator('#conversations > li').count(), 1, 'still the same conversation');
  // Connection attempts while the server is down are expected to fail; anything else is not.
  const unexpected = [...agent.errors, ...visitor.errors].filter((e) => !/WebSocket connection to .* failed/.test(e));
  assert.deepEqual(unexpected, [], 'no page errors');
});
