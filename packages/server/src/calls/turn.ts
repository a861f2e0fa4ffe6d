import { createHmac } from 'node:crypto';
import type { IceServerInfo } from '@parley/protocol';
import type { Config } from '../config.ts';

/**
 * Time-limited TURN credentials per the TURN REST scheme (coturn `use-auth-secret`): the username is
 * `<unix expiry>:<user id>`, the password base64(HMAC-SHA1(secret, username)).
 */
export function turnCredentials(secret: string, userId: string, ttlSeconds: number, nowMs = Date.now()) {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${userId}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/** The ICE servers a call participant gets: the configured ones, plus TURN with fresh credentials. */
export function iceServersFor(config: Pick<Config, 'iceServers' | 'turn'>, userId: string, nowMs = Date.now()): IceServerInfo[] {
  const servers: IceServerInfo[] = config.iceServers.map((s) => ({ ...s }));
  if (config.turn) {
    servers.push({ urls: config.turn.urls, ...turnCredentials(config.turn.secret, userId, config.turn.ttlSeconds, nowMs) });
  }
  return servers;
}
