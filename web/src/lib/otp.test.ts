import { describe, expect, it } from 'vitest';
import { base32, newSecret, otpauthUri, recoveryCodes } from './otp';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('two-factor secrets', () => {
  it('encode base32 as RFC 4648 does (its test vectors, without padding)', () => {
    expect(base32(bytes(''))).toBe('');
    expect(base32(bytes('f'))).toBe('MY');
    expect(base32(bytes('fo'))).toBe('MZXQ');
    expect(base32(bytes('foo'))).toBe('MZXW6');
    expect(base32(bytes('foob'))).toBe('MZXW6YQ');
    expect(base32(bytes('fooba'))).toBe('MZXW6YTB');
    expect(base32(bytes('foobar'))).toBe('MZXW6YTBOI');
    // RFC 6238's SHA-1 test key.
    expect(base32(bytes('12345678901234567890'))).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it('are 20 random bytes: 32 base32 characters, a new one each time', () => {
    const a = newSecret();
    expect(a).toMatch(/^[A-Z2-7]{32}$/);
    expect(newSecret()).not.toBe(a);
  });

  it('go to the authenticator app as an otpauth://totp URI with the parameters the server checks', () => {
    const uri = new URL(otpauthUri('CRM', 'ann@example.com', 'GEZDGNBVGY3TQOJQ'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/CRM:ann@example.com');
    expect(Object.fromEntries(uri.searchParams)).toEqual({ secret: 'GEZDGNBVGY3TQOJQ', issuer: 'CRM', algorithm: 'SHA1', digits: '6', period: '30' });
  });

  it('read the recovery codes from parse-server\'s answer', () => {
    expect(recoveryCodes({ authDataResponse: { mfa: { recovery: 'aaaaa-bbbbb, ccccc-ddddd' } } })).toEqual(['aaaaa-bbbbb', 'ccccc-ddddd']);
    expect(recoveryCodes({ updatedAt: 'x' })).toEqual([]);
  });
});
