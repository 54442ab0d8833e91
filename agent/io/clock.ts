/**
 * The one clock. Everything that needs the time takes a Clock (or `now`) from
 * its caller; commands get the system clock from the CLI, tests a fake one.
 */
export interface Clock {
  /** Unix time in ms. */
  now(): number;
}

// The single place the wall clock is read (eslint bans Date.now elsewhere in agent/).
// eslint-disable-next-line no-restricted-properties
export const systemClock: Clock = { now: () => Date.now() };
