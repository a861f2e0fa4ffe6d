/*
 * The baseline half of bench:escalation: two pages (one browser context each) with camera and microphone
 * already open, a plain WebSocket relay between them (what a real app would use: each page's socket to a tiny
 * server that forwards every message to the other page's socket, nothing parsed, nothing stored), and nothing
 * else. Each run measures the accepting page's `start()` to the first decoded remote frame on both pages, with
 * the same probe as the Parley runs.
 */
import { createServer, type Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitFor } from '../../e2e/support/harness.ts';
import { pageScript } from '../../e2e/support/media.ts';
import { FIRST_FRAME_MARK, runTiming, type RunTiming } from './timing.ts';

/** A blank page on a loopback origin of its own (a secure context, as WebRTC wants), and its relay at `/relay`. */
function servePage(): Promise<{ url: string; server: Server }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>baseline</title><link rel="icon" href="data:,"></head><body></body></html>');
  });
  // The relay: each message from one page's socket goes as it is to the other's (two pages, so "every other").
  const relay = new WebSocketServer({ server, path: '/relay', maxPayload: 64 * 1024 });
  relay.on('connection', (socket: WebSocket) => {
    socket.on('message', (data, isBinary) => {
      for (const other of relay.clients) if (other !== socket && other.readyState === other.OPEN) other.send(data, { binary: isBinary });
    });
  });
  server.on('close', () => relay.close());
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
    for (const page of [agent, visitor]) {
      await page.goto(url);
      await page.evaluate((relayUrl) => window.baselineCall.open(relayUrl), url.replace(/^http/, 'ws') + 'relay');
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
