// The HAProxy configuration of a deployment on this machine, made from deploy/haproxy.cfg: the same settings,
// with the frontend on `port` and one `server` line per node. Used by `npm run cluster` and by the tests of
// many nodes, so what they run is what the file ships.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIPPED_CONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'haproxy.cfg');

/**
 * @param {{ port: number, nodes: Array<{ name: string, port: number }>, statsSocket?: string }} options
 * @returns {string}
 */
export function renderHaproxyConfig({ port, nodes, statsSocket }) {
  const shipped = readFileSync(SHIPPED_CONFIG, 'utf8');
  const lines = shipped.split('\n');
  const out = [];
  let serversWritten = false;
  for (const line of lines) {
    if (/^\s*bind 127\.0\.0\.1:\d+\s*$/.test(line)) {
      out.push(`    bind 127.0.0.1:${port}`);
      continue;
    }
    if (/^\s*server node\d+ /.test(line)) {
      if (!serversWritten) for (const node of nodes) out.push(`    server ${node.name} 127.0.0.1:${node.port} check`);
      serversWritten = true;
      continue;
    }
    out.push(line);
    // The harness reads which nodes HAProxy counts up or down from its stats socket.
    if (statsSocket && line === 'global') out.push(`    stats socket ${statsSocket} mode 600 level admin`);
  }
  if (!serversWritten) throw new Error(`${SHIPPED_CONFIG} has no "server nodeN" lines to replace`);
  return out.join('\n');
}
