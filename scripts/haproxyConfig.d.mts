/** deploy/haproxy.cfg. */
export const SHIPPED_CONFIG: string;
/** deploy/haproxy.cfg with its frontend on `port` and one server line per node (and a stats socket when given). */
export function renderHaproxyConfig(options: { port: number; nodes: Array<{ name: string; port: number }>; statsSocket?: string }): string;
