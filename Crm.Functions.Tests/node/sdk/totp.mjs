// RFC 6238 time-based one-time passwords (HMAC-SHA1, 6 digits, 30 s), as an authenticator app computes them;
// node's crypto only, so the server is checked against an implementation that shares nothing with it.
import { createHmac, randomBytes } from 'node:crypto';

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export const newSecret = () => [...randomBytes(32)].map(b => alphabet[b % 32]).join('');

const decode = base32 => {
  const bytes = [];
  let buffer = 0;
  let bits = 0;
  for (const c of base32.replace(/=+$/, '').toUpperCase()) {
    buffer = (buffer << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bytes.push((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
};

// The code of the 30-second step `offset` steps away from now.
export const totp = (secret, offset = 0, now = Date.now()) => {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30) + offset));
  const hash = createHmac('sha1', decode(secret)).update(counter).digest();
  const at = hash[hash.length - 1] & 0x0f;
  return String((hash.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
};
