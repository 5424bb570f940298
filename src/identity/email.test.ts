import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultIdentityConfig, loadIdentityConfig } from './config';
import { addressAt, addressAtByRegex, emailRules, isFreeMailDomain, normaliseEmail, parseGithubNoreply, registrableDomain } from './email';

const rules = emailRules(loadIdentityConfig(await import('node:fs').then((fs) => fs.readFileSync('mappings/identity.yaml', 'utf8'))));

describe('normaliseEmail', () => {
  it.each([
    ['  Ada.Lovelace@Gmail.com ', 'adalovelace@gmail.com'],
    ['a.d.a+community@googlemail.com', 'ada@gmail.com'],
    ['ada+news@outlook.com', 'ada@outlook.com'],
    ['ada+x@acme.io', 'ada@acme.io'],
    ['ada-x@yahoo.com', 'ada-x@yahoo.com'],
    ['ada+x@yahoo.com', 'ada+x@yahoo.com'],
    ['john.smith@acme.com', 'john.smith@acme.com'],
    ['JOHN.SMITH@ACME.COM', 'john.smith@acme.com'],
  ])('%s → %s', (raw, canonical) => {
    expect(normaliseEmail(raw, rules)?.canonical).toBe(canonical);
  });

  it('keeps dots on non-Gmail domains (john.smith and johnsmith are different mailboxes)', () => {
    expect(normaliseEmail('john.smith@acme.com', rules)?.canonical).not.toBe(normaliseEmail('johnsmith@acme.com', rules)?.canonical);
  });

  it('reduces hosts to the registrable domain', () => {
    expect(normaliseEmail('jo@mail.eu.acme.co.uk', rules)?.domain).toBe('acme.co.uk');
    expect(normaliseEmail('jo@googlemail.com', rules)?.domain).toBe('gmail.com');
  });

  it.each(['', 'no-at', 'a@b', 'two@@x.com', 'a b@x.com', '.a@x.com', 'a..b@x.com', '@x.com', 'a@-x.com', 'x'.repeat(400) + '@x.com'])(
    'rejects malformed %j',
    (raw) => {
      expect(normaliseEmail(raw, rules)).toBeNull();
    },
  );

  it('is idempotent on its canonical form', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (raw) => {
        const once = normaliseEmail(raw, rules);
        if (!once) return;
        expect(normaliseEmail(once.canonical, rules)?.canonical).toBe(once.canonical);
      }),
    );
  });

  it('the hand-written address scan accepts exactly what the regular expression does', () => {
    const chars = ['a', 'z', '0', '9', '.', '.', '-', '-', '@', '+', '_', "'", '!', '~', ' ', '\n', 'é', 'A', '[', '"', ','];
    const tricky = fc.array(fc.constantFrom(...chars), { maxLength: 14 }).map((a) => a.join(''));
    const plausible = fc.tuple(tricky, fc.constantFrom('@', ''), tricky, fc.constantFrom('.', '', '..'), tricky).map((p) => p.join(''));
    fc.assert(
      fc.property(fc.oneof(tricky, plausible, fc.emailAddress(), fc.string()), (s) => {
        expect(addressAt(s)).toBe(addressAtByRegex(s));
      }),
      { numRuns: 20_000 },
    );
    for (const s of ['a@b.c', 'a@b', '.a@b.c', 'a.@b.c', 'a..b@c.d', 'a@-b.c', 'a@b-.c', 'a@b..c', 'a@b.c.', '@b.c', 'a@', 'a@b@c.d', 'a-b@c-d.e-f', `${'a'.repeat(320)}@b.c`]) {
      expect(addressAt(s)).toBe(addressAtByRegex(s));
    }
  });

  it('plus tags on work domains can be switched off', () => {
    const cfg = defaultIdentityConfig();
    cfg.emails.plus_tags_on_work_domains = false;
    expect(normaliseEmail('ada+x@acme.io', emailRules(cfg))?.canonical).toBe('ada+x@acme.io');
  });
});

describe('domains', () => {
  it('uses the Public Suffix List incl. private suffixes', () => {
    expect(registrableDomain('www.shop.example.co.jp')).toBe('example.co.jp');
    expect(registrableDomain('ada.github.io')).toBe('ada.github.io');
    expect(registrableDomain('localhost')).toBeNull();
  });
  it('knows free-mail providers and honours overrides', () => {
    expect(isFreeMailDomain('gmail.com', rules)).toBe(true);
    expect(isFreeMailDomain('yandex.ru', rules)).toBe(true);
    expect(isFreeMailDomain('acme.com', rules)).toBe(false);
    const cfg = defaultIdentityConfig();
    cfg.emails.not_free_mail_domains = ['yandex.ru'];
    cfg.emails.extra_free_mail_domains = ['acme.com'];
    expect(isFreeMailDomain('yandex.ru', emailRules(cfg))).toBe(false);
    expect(isFreeMailDomain('acme.com', emailRules(cfg))).toBe(true);
  });
});

describe('parseGithubNoreply', () => {
  it('reads id and login', () => {
    expect(parseGithubNoreply('12345+Octo-Cat@users.noreply.github.com')).toEqual({ id: '12345', login: 'octo-cat' });
    expect(parseGithubNoreply('octocat@users.noreply.github.com')).toEqual({ id: null, login: 'octocat' });
    expect(parseGithubNoreply('octocat@github.com')).toBeNull();
  });
});
