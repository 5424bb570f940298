import { describe, expect, it } from 'vitest';
import { createLocalGate } from '../../src/crm/hubspot';

describe('createLocalGate', () => {
  it('holds calls to the rolling window and searches to their own limit', async () => {
    let now = 0;
    const waits: number[] = [];
    const gate = createLocalGate({
      default: { limit: 3, windowMs: 10_000 },
      search: { limit: 2, windowMs: 1_000 },
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    for (let i = 0; i < 3; i++) await gate.take('default');
    expect(waits).toEqual([]);
    await gate.take('default');
    expect(waits).toEqual([10_001]);
    now += 20_000;
    await gate.take('search');
    await gate.take('search');
    await gate.take('search');
    expect(waits.slice(1)).toEqual([1_001]);
  });
});
