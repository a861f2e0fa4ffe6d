import { startRelay } from './relay.ts';

/*
 * Entry of the relay child process. Listens on HOST:PORT from the environment (default 127.0.0.1, any
 * free port), prints `relay listening on ws://HOST:PORT/ws`, and exits on SIGTERM or SIGINT.
 */

const host = process.env.HOST ?? '127.0.0.1';
const relay = await startRelay(Number(process.env.PORT ?? 0), host);
console.log(`relay listening on ws://${host}:${relay.port}/ws`);

const stop = (): void => {
  void relay.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
