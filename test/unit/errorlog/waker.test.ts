import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { combineWakers, IntervalWaker } from '../../../agent/errorlog/tail/waker.js';
import { TestWaker } from '../../support/testWaker.js';

describe('wakers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the interval waker wakes every interval until closed', async () => {
    const waker = new IntervalWaker(50);
    let wakes = 0;
    waker.onWake(() => (wakes++, Promise.resolve()));
    vi.advanceTimersByTime(149);
    expect(wakes).toBe(2);
    await waker.close();
    vi.advanceTimersByTime(1000);
    expect(wakes).toBe(2);
  });

  it('combined wakers wake one callback from each source, and close together', async () => {
    const test = new TestWaker();
    const interval = new IntervalWaker(100);
    const both = combineWakers([test, interval]);
    let wakes = 0;
    both.onWake(() => (wakes++, Promise.resolve()));
    await test.wake();
    vi.advanceTimersByTime(100);
    expect(wakes).toBe(2);
    await both.close();
    vi.advanceTimersByTime(1000);
    expect([wakes, test.closed]).toEqual([2, true]);
  });

  it('no waker at all never wakes: the caller runs the passes', async () => {
    const none = combineWakers([]);
    none.onWake(() => Promise.reject(new Error('woken')));
    vi.advanceTimersByTime(60_000);
    await none.close();
  });
});
