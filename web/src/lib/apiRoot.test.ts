import { describe, expect, it } from 'vitest';
import { apiRoot } from './apiRoot';

describe('apiRoot', () => {
  it('uses the configured API root without a trailing slash', () => {
    expect(apiRoot('https://func-crm.azurewebsites.net/', 'https://app.example')).toBe('https://func-crm.azurewebsites.net');
  });

  it('falls back to the page origin when the variable is missing', () => {
    expect(apiRoot(undefined, 'http://127.0.0.1:1337')).toBe('http://127.0.0.1:1337');
  });

  it('falls back to the page origin when the variable is empty or blank', () => {
    expect(apiRoot('', 'http://127.0.0.1:1337')).toBe('http://127.0.0.1:1337');
    expect(apiRoot('   ', 'http://127.0.0.1:1337')).toBe('http://127.0.0.1:1337');
  });
});
