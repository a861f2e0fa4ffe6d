import { BlockList, isIP } from 'node:net';

/**
 * The reverse proxies in front of the server (`TRUST_PROXY`), and the client address they report.
 * One parser and one rule serve the HTTP API (fastify's `trustProxy`) and the WebSocket upgrade, so every
 * limit and every log line sees the same address for the same client.
 */
export class ProxyTrust {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /** `entries` are addresses or CIDRs, IPv4 or IPv6, as checked by {@link parseTrustProxy}. */
  constructor(readonly entries: readonly string[]) {
    this.#empty = entries.length === 0;
    for (const entry of entries) {
      const parsed = parseEntry(entry);
      if (parsed === null) throw new Error(`not an address or CIDR: ${entry}`);
      if (parsed.prefix === null) this.#list.addAddress(parsed.address, parsed.family);
      else this.#list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
  }

  /** True when `address` (a socket's peer, IPv4-mapped IPv6 included) is one of the trusted proxies. */
  isTrusted(address: string | undefined): boolean {
    if (this.#empty || address === undefined) return false;
    const plain = unmapped(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.#list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address: the socket's peer unless that is a trusted proxy; then the right-most address of
   * `X-Forwarded-For` that is not itself trusted (or the left-most one when all are). A malformed entry is never
   * believed: the trusted hop that passed it on stands for the client.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    let client = unmapped(peer ?? '?');
    if (!this.isTrusted(client) || forwardedFor === undefined) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((s) => s.trim()).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(stripPort(hops[i] ?? ''));
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!this.isTrusted(hop)) return client;
    }
    return client;
  }
}

/** Checks a `TRUST_PROXY` value: comma-separated addresses or CIDRs. Returns the entries, or the bad ones. */
export function parseTrustProxy(raw: string | undefined): { entries: string[]; invalid: string[] } {
  const entries: string[] = [];
  const invalid: string[] = [];
  for (const item of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (parseEntry(item) === null) invalid.push(item);
    else entries.push(item);
  }
  return { entries, invalid };
}

function parseEntry(entry: string): { address: string; family: 'ipv4' | 'ipv6'; prefix: number | null } | null {
  const [address = '', prefixRaw, extra] = entry.split('/');
  if (extra !== undefined) return null;
  const plain = unmapped(address);
  const version = isIP(plain);
  if (version === 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixRaw === undefined) return { address: plain, family, prefix: null };
  const prefix = Number(prefixRaw);
  if (!/^\d+$/.test(prefixRaw) || prefix > (version === 4 ? 32 : 128)) return null;
  return { address: plain, family, prefix };
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; anything else unchanged. */
function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/** `1.2.3.4:5678` → `1.2.3.4`, `[::1]:80` → `::1` (some proxies append the port). */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1] ?? hop;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return v4 ? (v4[1] ?? hop) : hop;
}
