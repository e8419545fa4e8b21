// The pure parts of two-factor sign-in (no SDK, no DOM beyond Web Crypto): secrets, the otpauth:// URI, the codes' answer.

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as authenticator apps read secrets. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}

/** A new secret: 20 random bytes from Web Crypto (160 bits, RFC 4226's recommendation), 32 base32 characters. */
export function newSecret(): string {
  return base32(crypto.getRandomValues(new Uint8Array(20)));
}

/** The otpauth:// URI authenticator apps scan (Key Uri Format): SHA1, 6 digits, 30 s, as the server checks. */
export function otpauthUri(issuer: string, account: string, secret: string): string {
  const label = encodeURIComponent(`${issuer}:${account}`);
  const params = new URLSearchParams({ secret, issuer, algorithm: 'SHA1', digits: '6', period: '30' });
  return `otpauth://totp/${label}?${params.toString()}`;
}

/** Splits parse-server's "a, b, c" answer into the codes. */
export function recoveryCodes(answer: unknown): string[] {
  const text = (answer as { authDataResponse?: { mfa?: { recovery?: unknown } } })?.authDataResponse?.mfa?.recovery;
  return typeof text === 'string' ? text.split(',').map((c) => c.trim()).filter(Boolean) : [];
}
