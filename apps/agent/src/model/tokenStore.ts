/*
 * The agent's session token lives in sessionStorage: a reload of the tab resumes the workspace
 * without the password (Parley.connectAgent({ server, token })), while closing the tab or the
 * browser forgets it, and another tab signs in on its own. Nothing else about the agent is kept.
 */
const KEY = 'parley.agent.token';

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** The token saved by the last sign-in in this tab, if any. */
export function loadToken(): string | null {
  return storage()?.getItem(KEY) ?? null;
}

/** Keeps the token for reloads of this tab. */
export function saveToken(token: string): void {
  storage()?.setItem(KEY, token);
}

/** Forgets the token (sign out, or the server refused it). */
export function clearToken(): void {
  storage()?.removeItem(KEY);
}
