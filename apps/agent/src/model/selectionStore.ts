/*
 * The conversation the agent has open, kept in sessionStorage beside the token so a reload of the
 * tab shows the same conversation again.
 */
const KEY = 'parley.agent.selected';

/** The conversation open before the reload, if any. */
export function loadSelection(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Remembers the open conversation (null forgets it). */
export function saveSelection(sessionID: string | null): void {
  try {
    if (sessionID) window.sessionStorage.setItem(KEY, sessionID);
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // storage unavailable: a reload opens the first conversation
  }
}
