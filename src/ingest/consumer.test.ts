import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from './consumer';

describe('retryDelaySeconds', () => {
  it('grows with attempts, stays positive and capped', () => {
    for (let attempts = 0; attempts < 30; attempts++) {
      const d = retryDelaySeconds(attempts);
      expect(d).toBeGreaterThanOrEqual(1);
      expect(d).toBeLessThanOrEqual(Math.min(3600, 2 ** Math.min(attempts, 12)));
    }
  });
});
