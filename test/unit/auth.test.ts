import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { AUTH_CACHE_SIZE, BasicAuth, MAX_PENDING_VERIFICATIONS, parseBasicAuthorization, type Compare } from '../../agent/export/auth.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

// Cost 4 keeps the real bcrypt fast enough for unit tests.
const ALICE = bcrypt.hashSync('alice-secret', 4);
const BOB = bcrypt.hashSync('bob-secret', 5);

/** A compare that records its calls and can be held, to see queueing and caching. */
function recordingCompare(): { compare: Compare; calls: { password: string; hash: string }[]; release: () => void; hold: () => void; maxConcurrent: () => number } {
  const calls: { password: string; hash: string }[] = [];
  let held: Promise<void> | null = null;
  let releaseHeld: () => void = () => undefined;
  let running = 0;
  let max = 0;
  return {
    calls,
    compare: async (password, hash) => {
      calls.push({ password, hash });
      running++;
      max = Math.max(max, running);
      if (held !== null) await held;
      const r = await bcrypt.compare(password, hash);
      running--;
      return r;
    },
    hold: () => {
      held = new Promise((r) => {
        releaseHeld = r;
      });
    },
    release: () => {
      held = null;
      releaseHeld();
    },
    maxConcurrent: () => max,
  };
}

describe('parseBasicAuthorization', () => {
  it.each<[string | undefined, { user: string; password: string } | null]>([
    [basic('alice', 'pw'), { user: 'alice', password: 'pw' }],
    [basic('alice', 'p:w:'), { user: 'alice', password: 'p:w:' }],
    [basic('', ''), { user: '', password: '' }],
    [`basic ${Buffer.from('a:b').toString('base64')}`, { user: 'a', password: 'b' }],
    [basic('ünï', 'çødé'), { user: 'ünï', password: 'çødé' }],
    [undefined, null],
    ['', null],
    ['Bearer abc', null],
    [`Basic ${Buffer.from('no-colon').toString('base64')}`, null],
    ['Basic !!!', null],
  ])('%j → %j', (header, expected) => {
    expect(parseBasicAuthorization(header)).toEqual(expected);
  });
});

describe('BasicAuth', () => {
  const users = new Map([
    ['alice', ALICE],
    ['bob', BOB],
  ]);

  it('accepts the right password and denies a wrong one, a missing one and an unknown user', async () => {
    const auth = new BasicAuth(users);
    expect(await auth.check(basic('alice', 'alice-secret'))).toBe('ok');
    expect(await auth.check(basic('bob', 'bob-secret'))).toBe('ok');
    expect(await auth.check(basic('alice', 'bob-secret'))).toBe('denied');
    expect(await auth.check(basic('alice', ''))).toBe('denied');
    expect(await auth.check(undefined)).toBe('denied');
    expect(await auth.check(basic('mallory', 'alice-secret'))).toBe('denied');
  });

  it('runs bcrypt for an unknown user too, against a dummy hash of the highest configured cost', async () => {
    const rec = recordingCompare();
    const auth = new BasicAuth(users, rec.compare);
    expect(await auth.check(basic('mallory', 'x'))).toBe('denied');
    expect(rec.calls).toHaveLength(1);
    const dummy = rec.calls[0]!.hash;
    expect(dummy).toMatch(/^\$2b\$05\$[./A-Za-z0-9]{53}$/); // bob's cost, the higher of the two
    expect([ALICE, BOB]).not.toContain(dummy);
    const costly = new BasicAuth(new Map([['carol', '$2y$11$' + 'c'.repeat(53)]]), rec.compare);
    await costly.check(basic('nobody', 'x'));
    expect(rec.calls[1]!.hash).toMatch(/^\$2b\$11\$/);
  });

  it('caches successes (bcrypt runs once per credential), never failures', async () => {
    const rec = recordingCompare();
    const auth = new BasicAuth(users, rec.compare);
    for (let i = 0; i < 5; i++) expect(await auth.check(basic('alice', 'alice-secret'))).toBe('ok');
    expect(rec.calls).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect(await auth.check(basic('alice', 'wrong'))).toBe('denied');
    expect(rec.calls).toHaveLength(4);
    expect(auth.cached).toBe(1);
    // A cached success is for that password only.
    expect(await auth.check(basic('alice', 'alice-secret '))).toBe('denied');
  });

  it('bounds the cache, evicting the least recently used credential', async () => {
    const many = new Map<string, string>();
    const cheap = bcrypt.hashSync('pw', 4);
    for (let i = 0; i <= AUTH_CACHE_SIZE; i++) many.set(`u${i}`, cheap);
    const rec = recordingCompare();
    const auth = new BasicAuth(many, rec.compare);
    for (let i = 0; i < AUTH_CACHE_SIZE; i++) await auth.check(basic(`u${i}`, 'pw'));
    await auth.check(basic('u0', 'pw')); // u0 is now the most recently used
    expect(rec.calls).toHaveLength(AUTH_CACHE_SIZE);
    await auth.check(basic(`u${AUTH_CACHE_SIZE}`, 'pw')); // evicts u1
    expect(auth.cached).toBe(AUTH_CACHE_SIZE);
    await auth.check(basic('u0', 'pw'));
    expect(rec.calls).toHaveLength(AUTH_CACHE_SIZE + 1);
    await auth.check(basic('u1', 'pw'));
    expect(rec.calls).toHaveLength(AUTH_CACHE_SIZE + 2);
  });

  it('runs one bcrypt at a time, shares a verification between identical requests, and refuses as busy beyond the bound', async () => {
    const rec = recordingCompare();
    const auth = new BasicAuth(users, rec.compare);
    rec.hold();
    const same = [auth.check(basic('alice', 'alice-secret')), auth.check(basic('alice', 'alice-secret'))];
    const distinct = Array.from({ length: MAX_PENDING_VERIFICATIONS - 1 }, (_, i) => auth.check(basic('alice', `guess-${i}`)));
    expect(await auth.check(basic('alice', 'one-too-many'))).toBe('busy');
    rec.release();
    expect(await Promise.all(same)).toEqual(['ok', 'ok']);
    expect(await Promise.all(distinct)).toEqual(Array(MAX_PENDING_VERIFICATIONS - 1).fill('denied'));
    expect(rec.calls).toHaveLength(MAX_PENDING_VERIFICATIONS);
    expect(rec.maxConcurrent()).toBe(1);
    // Once the queue has drained, new credentials are verified again.
    expect(await auth.check(basic('bob', 'bob-secret'))).toBe('ok');
  });
});
