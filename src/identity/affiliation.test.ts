import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { affiliationAt, intervalsFromCrm, intervalsFromEmailDomains, type AffiliationInterval } from './affiliation';

describe('affiliationAt', () => {
  const history: AffiliationInterval[] = [
    ...intervalsFromCrm([
      { companyId: 'old', startedAt: '2020-01-01T00:00:00Z', endedAt: '2023-06-01T00:00:00Z' },
      { companyId: 'new', startedAt: '2023-06-01T00:00:00Z', endedAt: null },
    ]),
    ...intervalsFromEmailDomains([
      { companyId: 'old', seenAt: '2019-01-01T00:00:00Z' },
      { companyId: 'new', seenAt: '2023-07-01T00:00:00Z' },
    ]),
  ];

  it('credits the company of the time of the activity', () => {
    expect(affiliationAt(history, '2021-01-01T00:00:00Z')?.companyId).toBe('old');
    expect(affiliationAt(history, '2024-01-01T00:00:00Z')?.companyId).toBe('new');
    expect(affiliationAt(history, '2023-06-01T00:00:00Z')?.companyId).toBe('new'); // end is exclusive
  });

  it('falls back to email-domain history where the CRM says nothing', () => {
    expect(affiliationAt(history, '2019-06-01T00:00:00Z')).toMatchObject({ companyId: 'old', source: 'email_domain' });
  });

  it('lets a manual override win, including "no company"', () => {
    const manual: AffiliationInterval = { companyId: null, from: '2022-01-01T00:00:00Z', to: '2022-03-01T00:00:00Z', source: 'manual' };
    expect(affiliationAt([...history, manual], '2022-02-01T00:00:00Z')).toMatchObject({ companyId: null, source: 'manual' });
    expect(affiliationAt([...history, manual], '2022-04-01T00:00:00Z')?.companyId).toBe('old');
  });

  it('prefers the most recently started interval of one source (an old association left open)', () => {
    const open = intervalsFromCrm([
      { companyId: 'a', startedAt: '2020-01-01T00:00:00Z', endedAt: null },
      { companyId: 'b', startedAt: '2022-01-01T00:00:00Z', endedAt: null },
    ]);
    expect(affiliationAt(open, '2023-01-01T00:00:00Z')?.companyId).toBe('b');
  });

  it('returns null for bad times and uncovered times', () => {
    expect(affiliationAt(history, 'not a date')).toBeNull();
    expect(affiliationAt(intervalsFromCrm([{ companyId: 'a', startedAt: '2020-01-01T00:00:00Z', endedAt: null }]), '2010-01-01T00:00:00Z')).toBeNull();
  });

  it('does not depend on input order', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(history, { minLength: history.length }), fc.date({ min: new Date('2018-01-01'), max: new Date('2026-01-01'), noInvalidDate: true }), (shuffled, t) => {
        expect(affiliationAt(shuffled, t)).toEqual(affiliationAt(history, t));
      }),
    );
  });
});
