/** deploy/haproxy.cfg. */
export const SHIPPED_CONFIG: string;
/**
 * deploy/haproxy.cfg with its frontend on `port`, its stats page on `statsPort` (left out without one), one server
 * line per node in every backend, a stats socket when given, and with `log` a line per request on standard output.
 */
export function renderHaproxyConfig(options: {
  port: number;
  nodes: Array<{ name: string; port: number }>;
  statsPort?: number;
  statsSocket?: string;
  log?: boolean;
}): string;
