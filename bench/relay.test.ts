import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import type { Relay } from './relay.ts';
import { startRelay } from './relay.ts';

let relay: Relay;
const sockets: WebSocket[] = [];

before(async () => {
  relay = await startRelay(0, '127.0.0.1');
});

after(async () => {
  for (const socket of sockets) socket.terminate();
  await relay.close();
});

function open(query: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${relay.port}/ws?${query}`);
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function nextFrame(socket: WebSocket): Promise<string> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(data.toString())));
}

test('a visitor frame reaches its agent unchanged, whatever it contains', async () => {
  const agent = await open('agent=a1');
  const visitor = await open('conv=c1&agent=a1');
  const received = nextFrame(agent);
  visitor.send('{"type":"message.send","sessionID":"c1","text":"hi"}');
  assert.equal(await received, '{"type":"message.send","sessionID":"c1","text":"hi"}');
});

test("an agent frame reaches only the visitor named by its sessionID", async () => {
  const agent = await open('agent=a2');
  const first = await open('conv=c2&agent=a2');
  const second = await open('conv=c3&agent=a2');
  let firstGotOne = false;
  first.on('message', () => {
    firstGotOne = true;
  });
  const received = nextFrame(second);
  agent.send('{"sessionID":"c3","text":"hello"}');
  assert.equal(await received, '{"sessionID":"c3","text":"hello"}');
  // Send a second frame to c3 and wait for it: by then the first visitor would have got anything sent to it.
  const again = nextFrame(second);
  agent.send('{"sessionID":"c3","text":"again"}');
  await again;
  assert.equal(firstGotOne, false);
});

test('a socket without an agent parameter is closed with 4400', async () => {
  const socket = await open('conv=c4');
  const code = await new Promise<number>((resolve) => socket.once('close', (closeCode) => resolve(closeCode)));
  assert.equal(code, 4400);
});
