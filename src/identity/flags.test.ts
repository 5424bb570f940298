import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig } from './config';
import { botReason, flagRules } from './flags';

describe('configured bot keys', () => {
  const config = defaultIdentityConfig();
  config.bots.identity_keys = ['slack:USLACKBOT', 'discord:İnspector'];
  const rules = flagRules(config);

  it('match `source:id` case-insensitively', () => {
    expect(botReason({ source: 'slack', id: 'uslackbot' }, rules)).toBe('slack:uslackbot is a configured bot');
    expect(botReason({ source: 'slack', id: 'USLACKBOT2' }, rules)).toBeNull();
  });

  it('still match when lower-casing changes the length (İ → i̇), which the length pre-check must not skip', () => {
    // 'discord:İnspector' lower-cases to 18 code units; the identity's key below has 17 before lower-casing.
    expect(botReason({ source: 'discord', id: 'İNSPECTOR' }, rules)).toBe('discord:İNSPECTOR is a configured bot');
    expect(botReason({ source: 'discord', id: 'inspector' }, rules)).toBeNull();
  });
});
