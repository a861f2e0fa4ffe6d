/*
 * The demo visitor page and the demo agent page chatting through /sdk/parley.js in headless Chromium,
 * driven by role and accessible name: both ways with typing indicators, a visitor reload that resumes
 * the conversation, and closing from either side.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  chatReachesAgent,
  composer,
  demoDeskErrors,
  openDemoDesk,
  queueEntry,
  sendWithEnter,
  setAway,
  transcriptTexts,
  visitorStartsChat,
  waitForMessage,
  waitForVisitorStatus,
  type DemoDesk,
} from './support/demoPages.ts';
import { browserOnly } from './support/fixture.ts';
import { screenshot, waitFor } from './support/harness.ts';

const spec = browserOnly();

/** A fresh server with one agent (signed in on the agent page) and one visitor context. */
async function openDesk(agentName: string): Promise<DemoDesk> {
  const account = { email: `${agentName.split(' ')[0]!.toLowerCase()}@example.test`, name: agentName, password: 'correct horse battery' };
  const server = await spec.startServer([account]);
  return openDemoDesk(spec, server, account);
}

function assertNoPageErrors(desk: DemoDesk): void {
  assert.deepEqual([...desk.agent.errors, ...desk.visitor.errors], [], 'no page errors');
}

async function typingLine(page: Page): Promise<string> {
  return (await page.locator('#typing').textContent()) ?? '';
}

test('visitor and agent chat both ways through the demo pages, with typing indicators', async () => {
  const desk = await openDesk('Alice Agent');
  const { agent, visitor } = desk;
  await screenshot(agent.page, 'chat-01-agent-signed-in');

  await setAway(agent.page);

  await visitorStartsChat(visitor.page, desk.server.url, 'Vera Visitor');
  await waitForVisitorStatus(visitor.page, 'queued');
  await screenshot(visitor.page, 'chat-02-visitor-queued');

  const entry = queueEntry(agent.page, 'Vera Visitor');
  await entry.waitFor({ timeout: 10_000 });
  await screenshot(agent.page, 'chat-03-agent-queue');
  await entry.getByRole('button', { name: 'Accept' }).click();

  await waitForVisitorStatus(visitor.page, 'connected');
  await agent.page.getByRole('heading', { name: 'Chat with Vera Visitor' }).waitFor();
  await waitFor(async () => (await entry.count()) === 0, { what: 'the accepted conversation to leave the queue' });

  await composer(visitor.page).pressSequentially('Hello, is the Arc lamp');
  await waitFor(async () => (await typingLine(agent.page)) === 'Vera Visitor is typing…', {
    what: `the agent to see the visitor typing (${demoDeskErrors(desk)})`,
  });
  await screenshot(agent.page, 'chat-04-agent-sees-typing');
  await composer(visitor.page).fill('Hello, is the Arc lamp dimmable?');
  await composer(visitor.page).press('Enter');
  await waitForMessage(agent.page, 'Hello, is the Arc lamp dimmable?', 'the visitor message');
  assert.equal(await composer(visitor.page).inputValue(), '', 'Enter sent the message and cleared the composer');
  await waitFor(async () => (await typingLine(agent.page)) === '', { what: 'the typing indicator to clear' });

  await composer(agent.page).pressSequentially('Yes, it');
  await waitFor(async () => (await typingLine(visitor.page)) === 'Alice Agent is typing…', {
    what: 'the visitor to see the agent typing',
  });
  await screenshot(visitor.page, 'chat-05-visitor-sees-typing');
  await composer(agent.page).fill('Yes, it dims smoothly from 5% to 100%.');
  await composer(agent.page).press('Enter');
  await waitForMessage(visitor.page, 'Yes, it dims smoothly from 5% to 100%.', 'the agent reply');

  const expected = ['Hello, is the Arc lamp dimmable?', 'Yes, it dims smoothly from 5% to 100%.'];
  for (const page of [visitor.page, agent.page]) {
    const texts = await transcriptTexts(page);
    const chat = texts.filter((t) => expected.includes(t));
    assert.deepEqual(chat, expected, `both messages exactly once and in order on ${page.url()}`);
    assert.ok(
      texts.some((t) => t.includes('Alice Agent joined the conversation')),
      `the join event is in the transcript on ${page.url()}: ${JSON.stringify(texts)}`,
    );
  }
  await screenshot(visitor.page, 'chat-06-visitor-conversation');
  await screenshot(agent.page, 'chat-07-agent-conversation');
  assertNoPageErrors(desk);
});

test('a visitor reload resumes the same conversation with its history, and the chat goes on', async () => {
  const desk = await openDesk('Bruno Agent');
  const { agent, visitor } = desk;
  await chatReachesAgent(desk, 'Rita Reload', 'Message before the reload');
  await sendWithEnter(agent.page, 'Reply before the reload');
  await waitForMessage(visitor.page, 'Reply before the reload');

  await visitor.page.reload();
  await waitForVisitorStatus(visitor.page, 'connected');
  await waitForMessage(visitor.page, 'Reply before the reload', 'the history after the reload');
  const resumed = await transcriptTexts(visitor.page);
  assert.equal(resumed.filter((t) => t === 'Message before the reload').length, 1, 'history shown once');
  assert.equal(resumed.filter((t) => t === 'Reply before the reload').length, 1, 'history shown once');
  assert.ok(
    resumed.indexOf('Message before the reload') < resumed.indexOf('Reply before the reload'),
    'history in order',
  );
  assert.equal(await visitor.page.getByRole('button', { name: 'Start chat' }).isVisible(), false, 'no new chat offered');
  await screenshot(visitor.page, 'reload-01-visitor-resumed');

  await sendWithEnter(visitor.page, 'Message after the reload');
  await waitForMessage(agent.page, 'Message after the reload');
  await sendWithEnter(agent.page, 'Reply after the reload');
  await waitForMessage(visitor.page, 'Reply after the reload');
  const agentConversations = agent.page.locator('#conversations > li');
  assert.equal(await agentConversations.count(), 1, 'the agent still has one conversation: the same one');
  await screenshot(agent.page, 'reload-02-agent-same-conversation');
  assertNoPageErrors(desk);
});

test('closing from the agent shows "closed" on the visitor; ending from the visitor shows it to the agent', async () => {
  const desk = await openDesk('Carla Agent');
  const { agent, visitor } = desk;
  await chatReachesAgent(desk, 'Cody Close', 'Thanks, that is all');

  await agent.page.getByRole('button', { name: 'Close conversation' }).click();
  await waitForVisitorStatus(visitor.page, 'closed');
  assert.match((await visitor.page.getByRole('status').textContent()) ?? '', /closed/i);
  assert.equal(await composer(visitor.page).isDisabled(), true, 'the visitor cannot write into a closed chat');
  await waitFor(async () => (await transcriptTexts(visitor.page)).includes('Carla Agent closed the conversation'), {
    what: 'the close event in the visitor transcript',
  });
  await screenshot(visitor.page, 'close-01-visitor-sees-closed');
  await waitFor(async () => (await agent.page.locator('#conversation-status').textContent())?.startsWith('Closed'), {
    what: 'the agent page to show the conversation closed',
  });

  await visitor.page.getByRole('button', { name: 'Start a new chat' }).click();
  await waitForVisitorStatus(visitor.page, 'connected');
  await sendWithEnter(visitor.page, 'One more question');
  await waitForMessage(agent.page, 'One more question');
  await visitor.page.getByRole('button', { name: 'End chat' }).click();
  await waitForVisitorStatus(visitor.page, 'closed');
  await waitFor(async () => (await agent.page.locator('#conversation-status').textContent()) === 'Closed by Cody Close.', {
    what: 'the agent page to show the visitor ended the chat',
  });
  await screenshot(agent.page, 'close-02-agent-sees-visitor-ended');
  assertNoPageErrors(desk);
});
