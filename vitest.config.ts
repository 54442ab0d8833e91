import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that create network namespaces or spawn nginx must not run in parallel
    // with each other inside one file; files still run in parallel.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // nginx writes local time; golden files pin the zone so they read the same everywhere.
    env: { TZ: 'UTC' },
  },
});
