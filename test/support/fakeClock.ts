/** A clock tests move by hand. */
import type { Clock } from '../../agent/io/clock.js';

export class FakeClock implements Clock {
  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
