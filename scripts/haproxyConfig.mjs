// The HAProxy configuration of a deployment on this machine, made from deploy/haproxy.cfg: the same settings, with
// the frontend on `port`, the stats page on `statsPort` (or left out), and in every backend one `server` line per
// node. Used by `npm run cluster` and by the tests of many nodes, so what they run is what the file ships.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIPPED_CONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'haproxy.cfg');

/** The section a line opens (`frontend parley`, `backend parley_nodes`, …), or null for a line inside one. */
const sectionOf = (line) => /^(global|defaults|frontend|backend|listen)\b.*$/.exec(line)?.[0].trim() ?? null;

/**
 * `log`: one line per request on standard output, with HAProxy's termination state (who closed, and when), and
 * its server state changes; the tests keep it so a failure shows what the balancer saw.
 * @param {{ port: number, nodes: Array<{ name: string, port: number }>, statsPort?: number, statsSocket?: string, log?: boolean }} options
 * @returns {string}
 */
export function renderHaproxyConfig({ port, nodes, statsPort, statsSocket, log = false }) {
  const out = [];
  const backends = new Set();
  let section = null;
  for (const line of readFileSync(SHIPPED_CONFIG, 'utf8').split('\n')) {
    section = sectionOf(line) ?? section;
    const kind = section?.split(' ')[0];
    if (section === 'listen stats' && statsPort === undefined) continue;
    if (/^\s*bind 127\.0\.0\.1:\d+\s*$/.test(line)) {
      out.push(`    bind 127.0.0.1:${section === 'listen stats' ? statsPort : port}`);
      continue;
    }
    if (kind === 'backend' && /^\s*server node\d+ /.test(line)) {
      // The shipped block of server lines in this backend becomes one line per node.
      if (!backends.has(section)) for (const node of nodes) out.push(`    server ${node.name} 127.0.0.1:${node.port} check`);
      backends.add(section);
      continue;
    }
    out.push(line);
    // The harness reads which nodes HAProxy counts up or down from its stats socket.
    if (statsSocket && line === 'global') out.push(`    stats socket ${statsSocket} mode 600 level admin`);
    if (log && line === 'global') out.push('    log stdout format raw local0 info');
    if (log && line === 'defaults') out.push('    log global', '    option httplog');
  }
  for (const backend of ['backend parley_nodes', 'backend parley_alive']) {
    if (!backends.has(backend)) throw new Error(`${SHIPPED_CONFIG}: ${backend} has no "server nodeN" lines to replace`);
  }
  return out.join('\n');
}
