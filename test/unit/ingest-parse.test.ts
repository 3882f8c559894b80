// The pure parts of the ingest: body → payloads per content type, topic names, the original
// Sparkngin Message. The HTTP behaviour around them is in ingest-server.test.ts.
import { describe, expect, it } from 'vitest';
import { RequestError } from '../../src/errors';
import { parseLegacyMessage } from '../../src/ingest/legacy';
import { bodyParser, oneLine, parseBeacon } from '../../src/ingest/parse';
import { topicFromPath, validateTopic } from '../../src/ingest/topic';

const parse = (contentType: string, body: string | Buffer, maxEvents = 1000) => {
  const batch = bodyParser(contentType)(Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), maxEvents, 't');
  return { type: batch.type, items: batch.items.map((item) => item.toString('utf8')) };
};

function refusal(run: () => unknown): { status: number; code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a RequestError');
}

describe('bodyParser', () => {
  it('keeps a JSON body as sent, trimmed of surrounding whitespace', () => {
    expect(parse('application/json', '  {"b":2,"a":1.50}\n')).toEqual({ type: 'json', items: ['{"b":2,"a":1.50}'] });
    expect(parse('application/json', '"just a string"')).toEqual({ type: 'json', items: ['"just a string"'] });
    expect(parse('application/json', '42')).toEqual({ type: 'json', items: ['42'] });
  });

  it('reads a one-line single value from the bytes with the payload and verdict of JSON.parse', () => {
    const bodies = ['\t{"é":"ü 😀"} ', '{"a":[1,2,{"b":null}]}\r\n', '\ufeff{"bom":1}', '"\\u00e9"', '-0.5e+3', ' null\t', '{"a":1}x', '{"a":01}', '{"a":"\\x"}', '{"a":1,}', '\u00a0{}', '{"a":"tab\there"}', '1 2', '{"a":"\\"}"'];
    for (const body of bodies) {
      const text = body.replace(/^\ufeff/, '');
      const trimmed = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      if (valid) expect(parse('application/json', body)).toEqual({ type: 'json', items: [trimmed] });
      else expect(refusal(() => parse('application/json', body))).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    }
  });

  it('compacts pretty-printed JSON to one line and nothing more', () => {
    const pretty = '{\n  "a": [\n    1,\n    "x y"\n  ],\r\n  "b": "line\\nbreak"\n}\n';
    const [item] = parse('application/json', pretty).items;
    expect(item).toBe('{"a": [1,"x y"],"b": "line\\nbreak"}');
    expect(JSON.parse(item!)).toEqual(JSON.parse(pretty));
  });

  it('cuts a JSON array into its elements byte for byte (big integers, escapes, nesting)', () => {
    const body = '[ {"n":12345678901234567890, "s":"a,]}\\"b"}, [1,[2,3]] ,"x" , null, 1e400 ]';
    expect(parse('application/json; charset=utf-8', body).items).toEqual([
      '{"n":12345678901234567890, "s":"a,]}\\"b"}',
      '[1,[2,3]]',
      '"x"',
      'null',
      '1e400',
    ]);
    expect(parse('application/json', '["Zoë", {"city":"東京"}]').items).toEqual(['"Zoë"', '{"city":"東京"}']);
    expect(refusal(() => parse('application/json', '[ ]')).code).toBe('EMPTY_BODY');
  });

  it('takes NDJSON (and JSON Lines) one event per non-empty line, CRLF or LF', () => {
    const body = '{"a":1}\r\n\r\n  \n{"b":"Zoë"}\n[1,2]\n';
    for (const type of ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines']) {
      expect(parse(type, body)).toEqual({ type: 'json', items: ['{"a":1}', '{"b":"Zoë"}', '[1,2]'] });
    }
    expect(parse('application/x-ndjson', '{"no":"final newline"}').items).toEqual(['{"no":"final newline"}']);
  });

  it('names the NDJSON line that is not JSON (ASCII and non-ASCII bodies)', () => {
    for (const body of ['{"a":1}\n\n{oops}\n{"c":3}', '{"a":"ü"}\n\n{oops}\n']) {
      const error = refusal(() => parse('application/x-ndjson', body));
      expect(error).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
      expect(error.message).toMatch(/^line 3 is not valid JSON/);
    }
  });

  it('takes text one event per non-empty line, and binary as one event', () => {
    expect(parse('text/plain', 'alpha\r\n\r\nbeta\n  \ngamma ü')).toEqual({ type: 'text', items: ['alpha', 'beta', '  ', 'gamma ü'] });
    const bytes = Buffer.from([0, 10, 13, 0xff, 0xfe]);
    const batch = bodyParser('application/octet-stream')(bytes, 1, 't');
    expect(batch.type).toBe('binary');
    expect(batch.items).toEqual([bytes]);
  });

  it('reads ISO-8859-1 text as such and stores UTF-8; drops a UTF-8 byte order mark', () => {
    expect(parse('text/plain; charset=ISO-8859-1', Buffer.from([0x5a, 0x6f, 0xeb])).items).toEqual(['Zoë']);
    expect(parse('application/json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')])).items).toEqual(['{"a":1}']);
  });

  it('refuses what it cannot read, with stable codes', () => {
    expect(refusal(() => bodyParser(undefined))).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    const xml = refusal(() => bodyParser('application/xml'));
    expect(xml).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(xml.message).toContain('application/json, application/x-ndjson (or application/jsonl), text/plain, application/octet-stream');
    expect(refusal(() => bodyParser('text/plain; charset=utf-16'))).toMatchObject({ status: 415, code: 'UNSUPPORTED_CHARSET' });
    expect(refusal(() => parse('application/json', ''))).toMatchObject({ status: 400, code: 'EMPTY_BODY' });
    expect(refusal(() => parse('application/json', ' \n '))).toMatchObject({ status: 400, code: 'EMPTY_BODY' });
    expect(refusal(() => parse('application/x-ndjson', '\n\r\n'))).toMatchObject({ status: 400, code: 'EMPTY_BODY' });
    expect(refusal(() => parse('application/octet-stream', ''))).toMatchObject({ status: 400, code: 'EMPTY_BODY' });
    expect(refusal(() => parse('application/json', '{"user": 4'))).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    expect(refusal(() => parse('text/plain', Buffer.from([0x61, 0xc3, 0x28])))).toMatchObject({ status: 400, code: 'INVALID_UTF8' });
  });

  it('checks a JSON array\'s own structure, then each element alone (no parsed copy of the whole)', () => {
    for (const [body, why] of [
      ['[1,,2]', /element 2 of the array is missing/],
      ['[1,]', /element 2 of the array is missing/],
      ['[,1]', /element 1 of the array is missing/],
      ['[1 2]', /element 1 of the array is not valid JSON/],
      ['[1,{"a":}]', /element 2 of the array is not valid JSON/],
      ['[1}', /unexpected '}'/],
      ['[1]]', /text after the end of the array/],
      ['[1] x', /text after the end of the array/],
      ['[1,[2]', /the array is not closed/],
      ['["a]', /the array is not closed/],
    ] as const) {
      const error = refusal(() => parse('application/json', body));
      expect({ body, status: error.status, code: error.code }).toEqual({ body, status: 400, code: 'MALFORMED_JSON' });
      expect(error.message).toMatch(why);
    }
    expect(parse('application/json', '[[], {}, "]", "\\\"", [1,[2,{"a":[]}]]]').items).toEqual(['[]', '{}', '"]"', '"\\\""', '[1,[2,{"a":[]}]]']);
  });

  it('counts events while cutting: one past the limit is 413 TOO_MANY_EVENTS, for every content type', () => {
    expect(parse('application/json', '[1,2,3]', 3).items).toHaveLength(3);
    for (const [type, body] of [['application/json', '[1,2,3,4]'], ['application/x-ndjson', '1\n2\n3\n4'], ['application/x-ndjson', 'ü\n'.replace('ü', '"ü"').repeat(4)], ['text/plain', 'a\nb\nc\nd']] as const) {
      expect(refusal(() => parse(type, body, 3))).toMatchObject({ status: 413, code: 'TOO_MANY_EVENTS' });
    }
  });

  it('takes a beacon as JSON when it parses, else as text', () => {
    expect(parseBeacon('{"v":\n 1}')).toEqual({ type: 'json', items: [Buffer.from('{"v":1}')] });
    expect(parseBeacon('plain words')).toEqual({ type: 'text', items: [Buffer.from('plain words')] });
    expect(oneLine('{"a":1}')).toBe('{"a":1}');
  });

  it('trims only JSON white space: U+00A0 or U+FEFF around JSON make it text, kept byte for byte', () => {
    expect(parseBeacon(' \t{"v":1}\r\n')).toEqual({ type: 'json', items: [Buffer.from('{"v":1}')] });
    for (const odd of ['\u00a0{}', '{}\ufeff', '\u2028[1]']) expect(parseBeacon(odd)).toEqual({ type: 'text', items: [Buffer.from(odd, 'utf8')] });
    // An NDJSON line of such white space is not a blank line to skip: the request is refused.
    expect(refusal(() => parse('application/x-ndjson', '{"a":1}\n\u00a0\n'))).toMatchObject({ status: 400 });
  });
});

describe('topic names', () => {
  it("follow Kafka's rules", () => {
    expect(validateTopic('a.B_c-9')).toBe('a.B_c-9');
    expect(validateTopic('t'.repeat(249))).toHaveLength(249);
    expect(topicFromPath('caf%65')).toBe('cafe');
    for (const bad of ['', '.', '..', 't'.repeat(250), 'a b', 'a/b', 'é', 'a:b']) {
      expect(refusal(() => validateTopic(bad))).toMatchObject({ status: 400, code: 'INVALID_TOPIC' });
    }
    expect(refusal(() => topicFromPath('%E0%A4%A'))).toMatchObject({ code: 'INVALID_TOPIC' });
    expect(refusal(() => topicFromPath('bad%20topic'))).toMatchObject({ code: 'INVALID_TOPIC' });
  });
});

describe('the original Sparkngin Message', () => {
  const message = (data: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ header: { version: 0.0, topic: 'legacy', key: 'k-1', traceEnable: false }, data, traces: [], ...extra });

  it('reads data.data as Jackson writes a byte[] (base64) and types it by serializeType', () => {
    const json = parseLegacyMessage(message({ type: 'com.acme.Event', data: Buffer.from('{"old": true}').toString('base64'), serializeType: 'json' }));
    expect(json).toMatchObject({ topic: 'legacy', key: 'k-1', type: 'json', dataType: 'com.acme.Event' });
    expect(json.data.toString()).toBe('{"old": true}');
    // new Message(key, obj, …) leaves serializeType null; its data is JSON.
    expect(parseLegacyMessage(message({ data: Buffer.from('[1,2]').toString('base64'), serializeType: null })).type).toBe('json');
    const binary = parseLegacyMessage(message({ data: Buffer.from([1, 2, 255]).toString('base64'), serializeType: 'binary' }));
    expect(binary).toMatchObject({ type: 'binary', data: Buffer.from([1, 2, 255]) });
    expect(parseLegacyMessage(message({ data: Buffer.from('<a/>').toString('base64'), serializeType: 'xml' })).type).toBe('text');
    expect(parseLegacyMessage(message({ data: Buffer.from('not json').toString('base64'), serializeType: 'json' })).type).toBe('binary');
    expect(parseLegacyMessage(message({ data: [104, -1, 105] })).data).toEqual(Buffer.from([104, 255, 105]));
  });

  it('refuses what the original could not have meant', () => {
    expect(refusal(() => parseLegacyMessage('{"header":'))).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    expect(refusal(() => parseLegacyMessage('{"header":{}}'))).toMatchObject({ status: 400, code: 'INVALID_MESSAGE' });
    expect(refusal(() => parseLegacyMessage('[]'))).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(refusal(() => parseLegacyMessage(message({ data: 'not base64!' })))).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(refusal(() => parseLegacyMessage(JSON.stringify({ header: { topic: 'bad topic' } })))).toMatchObject({ code: 'INVALID_TOPIC' });
  });

  it('reads base64 strictly: complete and padded as Jackson writes it, or refused (never stored shorter)', () => {
    const bytes = (data: string) => parseLegacyMessage(message({ data, serializeType: 'binary' })).data;
    // "ABCD" and "ABCDE": padded, split across MIME lines, URL-safe.
    expect(bytes('QUJDRA==')).toEqual(Buffer.from('ABCD'));
    expect(bytes('QUJD\r\nREU=')).toEqual(Buffer.from('ABCDE'));
    expect(bytes('-_-_')).toEqual(Buffer.from('-_-_'.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
    for (const bad of ['QUJDRA', 'QUJDRA=', 'QUJDR', 'QUJDRA===', 'QUJD RA==', 'QUJDRB==', 'QU=DRA==', 'ab+/-_==', 'QUJDRA==QUJD']) {
      expect({ bad, code: refusal(() => bytes(bad)).code }).toEqual({ bad, code: 'INVALID_MESSAGE' });
    }
  });

  it('refuses a key with a lone UTF-16 surrogate, which UTF-8 cannot carry', () => {
    const text = '{"header":{"topic":"legacy","key":"k\\ud800"}}';
    expect(refusal(() => parseLegacyMessage(text))).toMatchObject({ status: 400, code: 'INVALID_MESSAGE', message: expect.stringMatching(/surrogate/) });
    expect(parseLegacyMessage('{"header":{"topic":"legacy","key":"\\ud83d\\ude00"}}').key).toBe('😀');
  });
});
