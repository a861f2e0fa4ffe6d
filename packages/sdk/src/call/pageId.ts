/**
 * A random id for this page's part in calls (see `call.join`'s `page`): 16 characters of [A-Za-z0-9_-]. A party
 * signed in on several pages is in a call on one of them; the id tells them apart, and survives reconnections.
 */
export function newPageId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}
