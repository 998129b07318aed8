import fc from 'fast-check';

/** A generated value with a short human description (the value itself may be 70,000 characters or 10,000 levels deep). */
export interface Labelled<T = unknown> {
  value: T;
  label: string;
}

const labelled = <T>(arbitrary: fc.Arbitrary<T>, label: (value: T) => string): fc.Arbitrary<Labelled<T>> =>
  arbitrary.map((value) => ({ value, label: label(value) }));

/** `value` wrapped `depth` levels deep, built without recursion. */
export function nest(depth: number, shape: 'array' | 'object' | 'mixed', leaf: unknown = 0): unknown {
  let value = leaf;
  for (let level = 0; level < depth; level++) {
    const asArray = shape === 'array' || (shape === 'mixed' && level % 2 === 0);
    value = asArray ? [value] : { a: value };
  }
  return value;
}

/** An object whose own keys include `__proto__` (as JSON.parse makes it), not a prototype change. */
export function withOwnKeys(entries: Array<[string, unknown]>): Record<string, unknown> {
  const target: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Keys that have a meaning to JavaScript, to JSON-with-binary decoders or to databases. */
export const hostileKeys = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'then',
  '_placeholder',
  '',
  '\u0000',
  '\ud800',
  'a'.repeat(10_000),
] as const;

/** Deep nesting, 1,000 to 10,000 levels: at most 60 KB of JSON, under the 64 KiB caps. */
export const deepValue: fc.Arbitrary<Labelled> = fc
  .record({ depth: fc.integer({ min: 1000, max: 10_000 }), shape: fc.constantFrom('array', 'object', 'mixed' as const) })
  .map(({ depth, shape }) => ({ value: nest(depth, shape), label: `${shape} nested ${depth} deep` }));

const HUGE = 70_000;
/** Strings past every field cap (and past 64 KiB as UTF-8), below the 1 MiB frame cap. */
export const hugeString: fc.Arbitrary<Labelled<string>> = fc
  .constantFrom(['a', 'a'], ['NUL', '\u0000'], ['lone high surrogate', '\ud800'], ['emoji', '😀'], ['space', ' '])
  .map(([name, unit]) => ({ value: unit.repeat(HUGE / unit.length), label: `${HUGE} × ${name}` }));

/** Ways to spoil a string that is otherwise valid: every one still a JavaScript string. */
export const stringPoisons: Array<{ label: string; apply: (text: string) => string }> = [
  { label: 'NUL appended', apply: (text) => `${text}\u0000` },
  { label: 'NUL inside', apply: (text) => `${text.slice(0, 1)}\u0000${text.slice(1)}` },
  { label: 'only NUL', apply: () => '\u0000' },
  { label: 'lone high surrogate appended', apply: (text) => `${text}\ud800` },
  { label: 'lone low surrogate prepended', apply: (text) => `\udc00${text}` },
  { label: 'reversed surrogate pair', apply: (text) => `${text}\udc00\ud800` },
  { label: 'C0/C1 controls and bidi overrides', apply: (text) => `${text}\u0001\u001b[2J\u0085\u202e\u2066` },
  { label: 'non-characters', apply: (text) => `${text}\ufffe\uffff` },
  { label: 'whitespace only', apply: () => ' \t\n\u00a0\u3000 ' },
  { label: 'empty', apply: () => '' },
  { label: 'SQL and format specifiers', apply: (text) => `${text}'); DROP TABLE users; -- %s %n \\x00` },
  { label: 'percent-encoded NUL', apply: (text) => `${text}%00` },
];

export const poisonedString = (base: string): fc.Arbitrary<Labelled<string>> =>
  fc.constantFrom(...stringPoisons).map((poison) => ({ value: poison.apply(base), label: poison.label }));

const binaryValue: fc.Arbitrary<Labelled> = fc.oneof(
  labelled(fc.uint8Array({ maxLength: 64 }), (bytes) => `Buffer(${bytes.length})`).map(({ value, label }) => ({
    value: Buffer.from(value),
    label,
  })),
  fc.constant({ value: Buffer.alloc(600 * 1024, 0xff), label: 'Buffer(600 KiB)' }),
  fc.constant({ value: { a: [Buffer.from('x'), { b: Buffer.from([0, 0xff]) }] }, label: 'Buffers nested in an object' }),
  fc.constant({ value: nest(50, 'mixed', Buffer.from('deep')), label: 'a Buffer 50 levels deep' }),
  fc.constant({ value: new Uint16Array([0xd800, 0]), label: 'Uint16Array' }),
);

const prototypeKeys: fc.Arbitrary<Labelled> = fc.constantFrom(
  { value: withOwnKeys([['__proto__', { isAdmin: true, ok: true }]]), label: '{ "__proto__": { isAdmin, ok } }' },
  { value: { constructor: { prototype: { polluted: true } } }, label: '{ constructor: { prototype: … } }' },
  { value: withOwnKeys([['__proto__', null]]), label: '{ "__proto__": null }' },
  { value: { toString: 'x', valueOf: 1, hasOwnProperty: 0, then: 1 }, label: 'Object.prototype names as keys' },
  { value: { _placeholder: true, num: 0 }, label: 'a forged binary placeholder' },
  { value: { _placeholder: true, num: 999 }, label: 'a forged placeholder out of range' },
);

const wrongTypes: fc.Arbitrary<Labelled> = fc.oneof(
  fc.constantFrom<Labelled>(
    { value: null, label: 'null' },
    { value: undefined, label: 'undefined' },
    { value: true, label: 'true' },
    { value: 0, label: '0' },
    { value: -1, label: '-1' },
    { value: 1.5, label: '1.5' },
    { value: 2 ** 53 + 2, label: '2^53 + 2' },
    { value: -(2 ** 63), label: '-2^63' },
    { value: 1e308, label: '1e308' },
    { value: Number.NaN, label: 'NaN (null on the wire)' },
    { value: '', label: '""' },
    { value: 'null', label: '"null"' },
    { value: '0', label: '"0"' },
    { value: [], label: '[]' },
    { value: {}, label: '{}' },
    { value: [[]], label: '[[]]' },
    { value: new Date(0), label: 'a Date (a string on the wire)' },
  ),
  labelled(fc.uuid(), (id) => `a random UUID ${id}`),
  labelled(fc.string({ unit: 'binary', maxLength: 40 }), (text) => `string ${JSON.stringify(text)}`),
  labelled(fc.integer(), (n) => `integer ${n}`),
  labelled(fc.double(), (n) => `double ${n}`),
  labelled(fc.jsonValue({ maxDepth: 3 }), (value) => `JSON ${JSON.stringify(value)?.slice(0, 80)}`),
);

const wide: fc.Arbitrary<Labelled> = fc.constantFrom(
  { value: Array.from({ length: 10_000 }, () => 0), label: 'an array of 10,000 zeros' },
  { value: Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`k${index}`, index])), label: 'an object of 3,000 keys' },
  { value: Array.from({ length: 600 }, () => crypto.randomUUID()), label: 'an array of 600 UUIDs' },
);

/** Any hostile value: wrong types, deep, huge, binary, prototype keys, wide. */
export const hostileValue: fc.Arbitrary<Labelled> = fc.oneof(
  { arbitrary: wrongTypes, weight: 5 },
  { arbitrary: deepValue, weight: 2 },
  { arbitrary: hugeString, weight: 2 },
  { arbitrary: binaryValue, weight: 2 },
  { arbitrary: prototypeKeys, weight: 2 },
  { arbitrary: wide, weight: 1 },
);

export const hostileKey: fc.Arbitrary<Labelled<string>> = fc.oneof(
  fc.constantFrom(...hostileKeys).map((key) => ({ value: key, label: JSON.stringify(key.length > 40 ? `${key.slice(0, 8)}…(${key.length})` : key) })),
  labelled(fc.string({ unit: 'binary', maxLength: 12 }), (key) => JSON.stringify(key)),
);
