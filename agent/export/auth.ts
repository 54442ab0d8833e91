/**
 * Basic authentication against the bcrypt hashes of the web config's
 * basic_auth_users.
 *
 * bcrypt is slow on purpose (cost 10 is ~80 ms of CPU in bcryptjs), so:
 *   - a verified user/password pair is remembered (a SHA-256 of it, never the
 *     password) in a small LRU, as exporter-toolkit caches too, so a scraper pays
 *     bcrypt once, not per scrape;
 *   - only successes are remembered, so guessing cannot fill the cache;
 *   - verifications run one at a time (they would only share the CPU anyway), and
 *     at most MAX_PENDING_VERIFICATIONS distinct ones wait: beyond that the request
 *     is refused as busy instead of queueing without bound;
 *   - an unknown user is compared against a dummy hash of the highest configured
 *     cost, so the answer takes as long as for a known user with a wrong password.
 */
import { createHash, randomInt } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** Verified credentials remembered; a handful of scrapers and humans fit many times over. */
export const AUTH_CACHE_SIZE = 64;
/** Distinct credentials waiting for bcrypt before further ones are refused (503). */
export const MAX_PENDING_VERIFICATIONS = 16;

export type AuthVerdict = 'ok' | 'denied' | 'busy';

/** `Authorization: Basic base64(user:password)` → its parts, or null. */
export function parseBasicAuthorization(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined) return null;
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A well-formed hash that no password matches in practice: bcrypt still runs in full at `cost`. */
function dummyHash(cost: number): string {
  let tail = '';
  for (let i = 0; i < 53; i++) tail += BCRYPT_ALPHABET.charAt(randomInt(BCRYPT_ALPHABET.length));
  return `$2b$${String(cost).padStart(2, '0')}$${tail}`;
}

export type Compare = (password: string, hash: string) => Promise<boolean>;

export class BasicAuth {
  private readonly verified = new Map<string, true>();
  private readonly pending = new Map<string, Promise<boolean>>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dummy: string;

  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly compare: Compare = (password, hash) => bcrypt.compare(password, hash),
  ) {
    // The highest configured cost: an unknown user never answers faster than a known one.
    let cost = 4;
    for (const hash of users.values()) cost = Math.max(cost, bcrypt.getRounds(hash));
    this.dummy = dummyHash(cost);
  }

  /** Verified credentials currently remembered. */
  get cached(): number {
    return this.verified.size;
  }

  async check(authorization: string | undefined): Promise<AuthVerdict> {
    const creds = parseBasicAuthorization(authorization);
    if (creds === null) return 'denied';
    const hash = this.users.get(creds.user);
    const key = createHash('sha256')
      .update(JSON.stringify([creds.user, hash ?? '', creds.password]))
      .digest('hex');
    if (this.verified.has(key)) {
      // Refresh its place: the least recently used entry is evicted first.
      this.verified.delete(key);
      this.verified.set(key, true);
      return 'ok';
    }
    let verdict = this.pending.get(key);
    if (verdict === undefined) {
      if (this.pending.size >= MAX_PENDING_VERIFICATIONS) return 'busy';
      verdict = this.serialized(() => this.compare(creds.password, hash ?? this.dummy)).then(
        (match) => match && hash !== undefined,
        () => false,
      );
      this.pending.set(key, verdict);
      void verdict.then(() => this.pending.delete(key));
    }
    if (!(await verdict)) return 'denied';
    this.verified.set(key, true);
    if (this.verified.size > AUTH_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    return 'ok';
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn());
    this.queue = run.catch(() => undefined);
    return run;
  }
}
