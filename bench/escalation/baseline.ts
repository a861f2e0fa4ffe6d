/*
 * The baseline half of bench:escalation: two pages (one browser context each) with camera and microphone
 * already open, a trivial relay between them (a Playwright binding: the offer, the answer and each candidate
 * go page → Node → other page), and nothing else. Each run measures the accepting page's `start()` to the
 * first decoded remote frame on both pages, with the same probe as the Parley runs.
 */
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { waitFor } from '../../e2e/support/harness.ts';
import { pageScript } from '../../e2e/support/media.ts';
import type { BaselineSignal } from './baselinePage.ts';
import { FIRST_FRAME_MARK, runTiming, type RunTiming } from './timing.ts';

/** A blank page on a loopback origin of its own (a secure context, as WebRTC wants). */
function servePage(): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title><link rel="icon" href="data:,"></head><body></body></html>');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}/`, server });
    });
  });
}

/** Waits until the page's timeline has a first frame (polled by the probe every few ms). */
async function firstFrame(page: Page, what: string): Promise<void> {
  await waitFor(() => page.evaluate((mark) => window.parleyProbe.timeline.some((e) => e.what === mark), FIRST_FRAME_MARK), {
    what,
    timeoutMs: 20_000,
    intervalMs: 10,
  });
}

/** A measured call setup that can be run again and again, then closed. */
export interface CallBench {
  run(label: string): Promise<RunTiming>;
  close(): Promise<void>;
}

/** Opens the two baseline pages (devices opened up front); each `run` is one bare WebRTC call. */
export async function openBaseline(browser: Browser): Promise<CallBench> {
  const script = await pageScript('bench/escalation/baselineEntry.ts');
  const { url, server } = await servePage();
  const contexts: BrowserContext[] = [];
  const close = async (): Promise<void> => {
    for (const context of contexts) await context.close().catch(() => {});
    await new Promise((done) => server.close(() => done(undefined)));
  };
  try {
    const open = async (): Promise<Page> => {
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
      contexts.push(context);
      const page = await context.newPage();
      await page.addInitScript({ content: script });
      return page;
    };
    const agent = await open();
    const visitor = await open();
    const relay = (to: () => Page) => (_source: unknown, signal: BaselineSignal) =>
      to().evaluate((s) => window.baselineCall.receive(s), signal);
    await agent.exposeBinding('relayToPeer', relay(() => visitor));
    await visitor.exposeBinding('relayToPeer', relay(() => agent));
    for (const page of [agent, visitor]) {
      await page.goto(url);
      await page.evaluate(() => window.baselineCall.open());
    }
    return {
      async run(label) {
        for (const page of [agent, visitor]) await page.evaluate(() => window.parleyProbe.clearTimeline());
        await agent.evaluate(() => window.baselineCall.start());
        await firstFrame(agent, `${label}: first frame on the accepting page`);
        await firstFrame(visitor, `${label}: first frame on the requesting page`);
        const timing = runTiming(
          await agent.evaluate(() => window.parleyProbe.timeline.slice()),
          await visitor.evaluate(() => window.parleyProbe.timeline.slice()),
        );
        for (const page of [agent, visitor]) await page.evaluate(() => window.baselineCall.hangup());
        return timing;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
