/**
 * What the fuzz specs throw at the pack: random values of every JavaScript kind, and strings, keys and bodies
 * picked to hurt (huge, boundary numbers, prototype keys, path traversal, SQL, broken UTF-8, deep nesting).
 */
import fc from 'fast-check';

/** Runs per property: 200 in `npm test`, `FUZZ_RUNS=5000` for a longer hunt. */
export const FUZZ_RUNS = Math.max(1, Number(process.env.FUZZ_RUNS) || 200);

/** Keys that have hurt JavaScript code before. */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'toJSON',
  'hasOwnProperty',
  'then',
  'length',
  '',
  'limit',
  'offset',
  'id',
  'model',
  'url',
  'channel',
];

/** Strings picked to hurt: SQL, traversal, markup, control characters, lone surrogates, boundary numbers, huge. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '-0',
  '1e309',
  'NaN',
  'Infinity',
  '9007199254740993',
  '2147483648',
  '00000000000000000000001',
  '1.5',
  '0x10',
  'true',
  'null',
  'undefined',
  "' OR '1'='1",
  '1; DROP TABLE shared_patients; --',
  "1' UNION SELECT password FROM pg_shadow --",
  '$1',
  '%',
  '_',
  '\\',
  '../../../../etc/passwd',
  '..%2F..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f',
  '/..;/',
  '<script>alert(1)</script>',
  '${ODOO_API_KEY}',
  '{{7*7}}',
  '\u0000',
  '\r\nX-Injected: 1',
  '\ud800',
  '\udfff\ud800',
  '\u202e',
  '🙂',
  'a'.repeat(10000),
  '9'.repeat(400),
  '2025-02-30',
  '2025-06-01T25:61:00Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-20',
  'webhook',
  'email',
  'odoo',
  'account.move',
  'x_prescription',
];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 50 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer().map(String) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

const hostileKey = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

/** Anything at all: every kind of value, objects with null prototypes, boxed values, BigInts, hostile keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.anything({
      key: hostileKey,
      values: [hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined)],
      maxDepth: 4,
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(Object.create(null), { toString: 1 }, { valueOf: 'x', toString: null }, Symbol('s'), () => 1, -0, NaN, Infinity),
  },
  { weight: 1, arbitrary: fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'small' }, fc.constant({}), fc.record({ a: tie('deep') })) })).deep },
);

/** A request query as Express parses it (qs): strings, arrays of strings, nested objects, hostile keys. */
export const hostileQuery: fc.Arbitrary<Record<string, unknown>> = fc.dictionary(
  hostileKey,
  fc.oneof(hostileString, fc.array(hostileString, { maxLength: 3 }), fc.dictionary(hostileKey, hostileString, { maxKeys: 2 })),
  { maxKeys: 5 },
);

/** JSON bodies as a client may send them: any JSON, hostile keys, huge strings. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 2,
    arbitrary: fc.dictionary(
      hostileKey,
      fc.oneof(hostileString, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
    ),
  },
);

/** JSON text nested 50 to 5,000 levels deep (arrays or objects), as bytes on the wire. */
export const deepJsonText: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 50, max: 5000 }), fc.boolean())
  .map(([depth, objects]) => (objects ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + ']'.repeat(depth)));
