/**
 * A Waker the test drives (after mtail's internal/waker/testwaker.go): the tailer
 * runs a pass when the test calls wake(), and wake() resolves once that pass is
 * done, so rotation sequences run step by step with no sleep and no timer.
 */
import type { Waker } from '../../agent/errorlog/tail/waker.js';

export class TestWaker implements Waker {
  /** Set by close(): the tailer stopped. */
  closed = false;
  private readonly callbacks: (() => Promise<void>)[] = [];

  /** How many callbacks are registered (the tailer registers one once start() has run its first pass). */
  get listeners(): number {
    return this.callbacks.length;
  }

  onWake(callback: () => Promise<void>): void {
    this.callbacks.push(callback);
  }

  /** Wakes every listener and waits for the passes they started. */
  async wake(): Promise<void> {
    if (this.closed) throw new Error('TestWaker.wake() after close()');
    await Promise.all(this.callbacks.map((callback) => callback()));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
