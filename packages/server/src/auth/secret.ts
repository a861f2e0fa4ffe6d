import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The setting that holds the deployment's token-signing secret. */
const SECRET_SETTING = 'token_secret';

/**
 * Returns the token-signing secret: the configured one (TOKEN_SECRET), or the one kept in the database for every
 * node, made on the first start of the deployment. An installation that kept its secret in DATA_DIR/secret takes
 * that one into the database, so tokens already handed out stay valid.
 */
export async function loadOrCreateSharedSecret(
  store: { setting(name: string, make: () => string, at: string): Promise<string> },
  dataDir: string,
  configured: string | null,
): Promise<string> {
  if (configured !== null) return configured;
  let kept: string | null = null;
  try {
    const existing = (await readFile(join(dataDir, 'secret'), 'utf8')).trim();
    if (existing.length >= 32) kept = existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return store.setting(SECRET_SETTING, () => kept ?? randomBytes(48).toString('base64url'), new Date().toISOString());
}
