// The allocation-free JSON scanner (src/ingest/json-scan.ts) must accept exactly what JSON.parse
// accepts: checked against JSON.parse itself on generated JSON (every kind of value, nested,
// pretty-printed), on random text, on valid JSON with one character changed, inserted or removed,
// and on the edge cases a hand-written parser gets wrong.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanJson } from '../../src/ingest/json-scan';

/** What JSON.parse says about `text`, in the scanner's terms. */
function reference(text: string): string {
  if (/^[ \t\r\n]*$/.test(text)) return 'blank';
  try {
    JSON.parse(text);
    return 'json';
  } catch {
    return 'invalid';
  }
}

/** The scanner on `text` as UTF-8, inside a buffer with other bytes around it (it must not read past its range). */
function scanned(text: string): string {
  const bytes = Buffer.from(`]"{${text}[\\"`, 'utf8');
  const start = Buffer.byteLength(']"{');
  return scanJson(bytes, start, start + Buffer.byteLength(text));
}

function agree(text: string): void {
  expect(scanned(text), JSON.stringify(text)).toBe(reference(text));
}

// Characters that matter to JSON's grammar, weighted so that random text often comes close to JSON.
const jsonish = fc.constantFrom(...'{}[]",:.-+eE0123456789 \t\r\ntrufalsn\\/buxv"AaFf\u0000\u001f\u007f\u00e9\u2028\ud83d\ude00'.split(''));

describe('JSON scanner', () => {
  it('accepts every JSON text JSON.stringify makes, compact and pretty-printed', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, indent) => {
        const text = JSON.stringify(value, null, indent);
        expect(scanned(text)).toBe('json');
        agree(` \r\n${text}\t `);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JSON.parse on random text near JSON', () => {
    fc.assert(fc.property(fc.array(jsonish, { maxLength: 40 }).map((chars) => chars.join('')), agree), { numRuns: 20000 });
  });

  it('agrees with JSON.parse on valid JSON with one character changed, inserted or removed', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.nat(), jsonish, fc.constantFrom('change', 'insert', 'remove'), (value, where, _unused, char, how) => {
        const text = JSON.stringify(value);
        const at = where % (text.length + 1);
        const mutated = how === 'insert' ? text.slice(0, at) + char + text.slice(at) : how === 'change' ? text.slice(0, at) + char + text.slice(at + 1) : text.slice(0, at) + text.slice(at + 1);
        agree(mutated);
      }),
      { numRuns: 20000 },
    );
  });

  it('agrees with JSON.parse on the cases hand-written parsers get wrong', () => {
    const cases = [
      '', ' ', '\t\r\n', '0', '-0', '00', '01', '-', '-01', '1.', '.5', '1.5', '1e', '1e+', '1E-2', '1e5.5', '+1', '0x10', 'NaN', 'Infinity', '-Infinity',
      'true', 'tru', 'truex', 'True', 'null', 'nul', 'false', 'falsey',
      '""', '"', '"\\"', '"\\u00e9"', '"\\u00g9"', '"\\u12"', '"\\x41"', '"\\x0041"', '"\\v"', '"\\a"', '"\\/"', '"\\ud800"', '"a\u0000b"', '"a\u001fb"', '"a\u007fb"', '"tab\tinside"', '"\u2028"', '"é"',
      '[]', '[ ]', '[,]', '[1,]', '[,1]', '[1 2]', '[[[]]]', '[[[]]', ']', '[', '{}', '{ }', '{"a":1}', '{"a":1,}', '{"a" 1}', '{a:1}', "{'a':1}", '{"a":}', '{"a":1 "b":2}', '{"a":1}{', '{"a":[1,{"b":null}]}',
      '1 2', '{} {}', '"a" "b"', '[]]', '{}}', '\ufeff{}', '{}\ufeff', '/* c */ 1', '1 // c', '\u00a01', '\u000b1', '\u000c1',
    ];
    for (const text of cases) agree(text);
  });

  it('takes nesting deeper than its first stack, as JSON.parse does', () => {
    for (const depth of [255, 256, 257, 10_000]) {
      agree(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      agree(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
      agree(`${'['.repeat(depth)}${']'.repeat(depth - 1)}`);
    }
  });
});
