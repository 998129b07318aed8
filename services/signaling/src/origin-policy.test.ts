import { expect, it } from 'vitest';
import { isOriginAllowed } from './origin-policy.ts';

it('allows every origin when the allowlist is empty (development)', () => {
  expect(isOriginAllowed('https://anything.example', [])).toBe(true);
});

it('allows only listed origins, compared exactly', () => {
  const allowlist = ['https://app.example', 'http://127.0.0.1:15738'];
  expect(isOriginAllowed('https://app.example', allowlist)).toBe(true);
  expect(isOriginAllowed('http://127.0.0.1:15738', allowlist)).toBe(true);
  for (const origin of ['https://app.example.evil', 'http://app.example', 'https://APP.example', 'null', '']) {
    expect(isOriginAllowed(origin, allowlist)).toBe(false);
  }
});

it('allows requests without an Origin header: they do not come from a browser page', () => {
  expect(isOriginAllowed(undefined, ['https://app.example'])).toBe(true);
});
