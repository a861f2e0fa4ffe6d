import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';

/*
 * A stand-in for a PostgreSQL server, for the failures a real one on this machine cannot show: its
 * trust authentication accepts any password, so "wrong password" needs a server that asks for one
 * and refuses it. It speaks just enough of the frontend/backend protocol (version 3) for that:
 * startup message (an SSLRequest is declined), an authentication request (cleartext or MD5), the
 * client's password message, then an ErrorResponse with SQLSTATE 28P01 and the connection closed.
 * In mode `not-postgres` it answers like an HTTP server instead, for "that is not PostgreSQL".
 */

/** How the fake answers a connection. */
export type FakePostgresMode = 'cleartext-password' | 'md5-password' | 'not-postgres';

/** What one client sent. */
export interface FakeLogin {
  user: string;
  database: string;
  /** The password message as sent: the password itself (cleartext) or `md5…` (MD5). */
  password: string;
  /** The salt sent with an MD5 request. */
  salt: Buffer | null;
}

export interface FakePostgres {
  port: number;
  /** A URL to this fake. */
  url(user: string, password: string, database: string): string;
  /** Every login attempt that got as far as sending a password, in order. */
  readonly logins: FakeLogin[];
  close(): Promise<void>;
}

const PROTOCOL_VERSION_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const AUTH_CLEARTEXT = 3;
const AUTH_MD5 = 5;

/** The MD5 password message a client sends: `md5` + md5(md5(password + user) + salt). */
export function md5PasswordMessage(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return `md5${createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex')}`;
}

/** Starts the fake on a free loopback port. */
export async function startFakePostgres(mode: FakePostgresMode): Promise<FakePostgres> {
  const logins: FakeLogin[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'not-postgres') {
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
      return;
    }
    converse(socket, mode, logins);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    logins,
    url: (user, password, database) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One connection: startup, password request, password, refusal. */
function converse(socket: Socket, mode: 'cleartext-password' | 'md5-password', logins: FakeLogin[]): void {
  let buffered = Buffer.alloc(0);
  let startup: { user: string; database: string } | null = null;
  const salt = mode === 'md5-password' ? randomBytes(4) : null;

  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (startup === null) {
        // Untyped messages: Int32 length (itself included), Int32 code, body.
        if (buffered.length < 8) return;
        const length = buffered.readInt32BE(0);
        if (buffered.length < length) return;
        const code = buffered.readInt32BE(4);
        const body = buffered.subarray(8, length);
        buffered = buffered.subarray(length);
        if (code === SSL_REQUEST) {
          socket.write('N'); // no SSL here; the client goes on in the clear or gives up
          continue;
        }
        if (code !== PROTOCOL_VERSION_3) {
          socket.destroy();
          return;
        }
        const params = startupParameters(body);
        startup = { user: params.get('user') ?? '', database: params.get('database') ?? params.get('user') ?? '' };
        socket.write(salt === null ? authRequest(AUTH_CLEARTEXT) : authRequest(AUTH_MD5, salt));
        continue;
      }
      // Typed messages: Byte1 type, Int32 length (itself included, the type not), body.
      if (buffered.length < 5) return;
      const type = String.fromCharCode(buffered[0]!);
      const length = buffered.readInt32BE(1);
      if (buffered.length < 1 + length) return;
      const body = buffered.subarray(5, 1 + length);
      buffered = buffered.subarray(1 + length);
      if (type !== 'p') {
        socket.destroy();
        return;
      }
      const password = body.subarray(0, body.indexOf(0)).toString('utf8');
      logins.push({ ...startup, password, salt });
      socket.end(errorResponse('28P01', `password authentication failed for user "${startup.user}"`));
      return;
    }
  });
}

/** The key/value pairs of a startup message's body (each NUL-terminated, a final NUL). */
function startupParameters(body: Buffer): Map<string, string> {
  const parts = body.toString('utf8').split('\0');
  const params = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params.set(parts[i]!, parts[i + 1]!);
  return params;
}

/** AuthenticationCleartextPassword (3) or AuthenticationMD5Password (5, with its 4-byte salt). */
function authRequest(kind: number, salt?: Buffer): Buffer {
  const extra = salt ?? Buffer.alloc(0);
  const message = Buffer.alloc(9 + extra.length);
  message.write('R', 0);
  message.writeInt32BE(8 + extra.length, 1);
  message.writeInt32BE(kind, 5);
  extra.copy(message, 9);
  return message;
}

/** ErrorResponse: severity FATAL, the SQLSTATE code and a message, each a NUL-terminated field. */
function errorResponse(sqlstate: string, text: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${text}\0\0`, 'utf8');
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}
