/**
 * How a connect rate reads in findings: a lower bound says "at least", and a
 * lower bound of 0 (TIME_WAIT taken over by tcp_tw_reuse, none left to count)
 * says it is unknown instead of "at least 0.0".
 */
import { describe, expect, it } from 'vitest';
import { aboutRate, rateText } from '../../../agent/hints/types.js';

describe('rateText and aboutRate', () => {
  it('a measured rate', () => {
    expect(rateText({ perSecond: 24.1, lowerBound: false })).toBe('24.1');
    expect(aboutRate({ perSecond: 24.1, lowerBound: false })).toBe('about 24.1');
  });

  it('a lower bound above 0', () => {
    expect(rateText({ perSecond: 24.1, lowerBound: true })).toBe('at least 24.1');
    expect(aboutRate({ perSecond: 24.1, lowerBound: true })).toBe('at least 24.1');
  });

  it('a lower bound of 0 is unknown, never "at least 0"', () => {
    expect(rateText({ perSecond: 0, lowerBound: true })).toBe('an unknown number of');
    expect(aboutRate({ perSecond: 0, lowerBound: true })).toBe('an unknown number of');
    expect(rateText({ perSecond: 0, lowerBound: false })).toBe('0.0');
  });
});
