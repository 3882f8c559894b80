// The new sink kinds' pure parts: what each classify makes of the errors its library really throws,
// the RFC 5424 message the syslog sink writes, and the topic read from an envelope's header.
import { connect } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Push } from 'zeromq';
import { decodeEnvelope, encodeEnvelope, peekTopic } from '../../src/envelope/codec-binary';
import { type Envelope, newEventId } from '../../src/envelope/envelope';
import { SinkError } from '../../src/errors';
import { classifyFlumeError, fetchFailure, FlumeHttpError } from '../../src/sinks/flume/classify';
import { flumeEvent } from '../../src/sinks/flume/http';
import { classifySyslogError, SyslogMessageTooLargeError } from '../../src/sinks/syslog/classify';
import { message, octetCounted } from '../../src/sinks/syslog/message';
import { classifyZeromqError } from '../../src/sinks/zeromq/classify';
import { freePort } from '../peers/ports';

const envelope = (fields: Partial<Envelope> = {}): Envelope => ({
  id: '0190b1a2-0000-7000-8000-000000000001',
  topic: 'web.clicks',
  ts: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  ip: '10.0.0.1',
  host: 'ingest-1',
  headers: {},
  type: 'text',
  data: Buffer.from('hello'),
  ...fields,
});

const bug = () => {
  try {
    (undefined as unknown as { x(): void }).x();
  } catch (error) {
    return error;
  }
  throw new Error('unreachable');
};

/** The error a real refused TCP connection gives. */
const refused = async (): Promise<Error> => {
  const port = await freePort();
  return new Promise((resolve) => connect({ host: '127.0.0.1', port }).on('error', resolve));
};

describe('classify', () => {
  it('ZeroMQ: a PUSH that finds no peer in time (EAGAIN) is retriable; a programming error is a bug', async () => {
    const push = new Push({ sendTimeout: 10 });
    await push.bind(`tcp://127.0.0.1:${await freePort()}`);
    const timedOut = await push.send('x').then(
      () => undefined,
      (error: unknown) => error,
    );
    push.close();
    expect((timedOut as { code?: string }).code).toBe('EAGAIN');
    expect(classifyZeromqError(new SinkError('z', 'no peer', { cause: timedOut }))).toBe('retriable');
    expect(classifyZeromqError(new SinkError('z', 'bug', { cause: bug() }))).toBe('bug');
  });

  it('syslog: a message too large for UDP is permanent; a refused connection retriable; a programming error a bug', async () => {
    expect(classifySyslogError(new SyslogMessageTooLargeError(70_000))).toBe('permanent');
    expect(classifySyslogError(new SinkError('s', 'down', { cause: await refused() }))).toBe('retriable');
    expect(classifySyslogError(new SinkError('s', 'bug', { cause: bug() }))).toBe('bug');
  });

  it('Flume: 400 and 413 are permanent, 503 and a refused connection retriable, a programming error a bug', async () => {
    expect(classifyFlumeError(new SinkError('f', 'x', { cause: new FlumeHttpError(400, 'bad') }))).toBe('permanent');
    expect(classifyFlumeError(new FlumeHttpError(413, ''))).toBe('permanent');
    expect(classifyFlumeError(new FlumeHttpError(503, 'channel full'))).toBe('retriable');
    // fetch says "TypeError: fetch failed" for a refused connection: the sink must not take it for a bug.
    const fetchError = await fetch(`http://127.0.0.1:${await freePort()}/`).catch((error: unknown) => error);
    expect(fetchError).toBeInstanceOf(TypeError);
    expect(classifyFlumeError(new SinkError('f', 'down', { cause: fetchFailure(fetchError) }))).toBe('retriable');
    expect((fetchFailure(fetchError) as Error).message).toBe('the Flume agent cannot be reached (ECONNREFUSED)');
    expect(classifyFlumeError(bug())).toBe('bug');
  });
});

describe('syslog message', () => {
  const settings = { facility: 1, severity: 6, appName: 'sparkngin', hostname: '', sdId: 'sparkngin@32473' };

  it('is RFC 5424 with the event’s time, host, topic and structured data, and the payload as it is', () => {
    const bytes = message(envelope({ key: 'k"1]', data: Buffer.from('line 1\nline 2') }), settings);
    expect(bytes.toString()).toBe(
      '<14>1 2026-01-02T03:04:05.678Z ingest-1 sparkngin - web.clicks [sparkngin@32473 id="0190b1a2-0000-7000-8000-000000000001" topic="web.clicks" key="k\\"1\\]"] line 1\nline 2',
    );
    expect(octetCounted(Buffer.from('ab\ncd')).toString()).toBe('5 ab\ncd');
  });

  it('takes facility, severity and app-name from the event’s headers when they are valid, else the settings', () => {
    const head = (headers: Record<string, string>) => message(envelope({ headers }), settings).toString().split(' ').slice(0, 4);
    expect(head({ 'syslog-facility': 'local7', 'syslog-severity': 'err', 'syslog-app-name': 'login' })).toEqual(['<187>1', '2026-01-02T03:04:05.678Z', 'ingest-1', 'login']);
    expect(head({ 'syslog-facility': '4', 'syslog-severity': '0' })[0]).toBe('<32>1');
    expect(head({ 'syslog-facility': 'nope', 'syslog-severity': '9', 'syslog-app-name': 'has space' })).toEqual(['<14>1', '2026-01-02T03:04:05.678Z', 'ingest-1', 'sparkngin']);
  });

  it('gives MSGID "-" for a topic longer than 32 characters (the structured data has it whole), and the configured host name', () => {
    const topic = 't'.repeat(40);
    const text = message(envelope({ topic }), { ...settings, hostname: 'relay' }).toString();
    expect(text.split(' ').slice(2, 6)).toEqual(['relay', 'sparkngin', '-', '-']);
    expect(text).toContain(`topic="${topic}"`);
  });
});

describe('Flume event', () => {
  it('carries the envelope fields as headers; a binary payload in base64', () => {
    expect(flumeEvent(envelope({ key: 'k', headers: { origin: 'web' } }))).toEqual({
      headers: { origin: 'web', 'sparkngin.id': '0190b1a2-0000-7000-8000-000000000001', topic: 'web.clicks', host: 'ingest-1', timestamp: String(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), key: 'k' },
      body: 'hello',
    });
    expect(flumeEvent(envelope({ type: 'binary', data: Buffer.from([0, 255]) }))).toMatchObject({ headers: { 'sparkngin.encoding': 'base64' }, body: 'AP8=' });
  });
});

describe('peekTopic', () => {
  it('reads the topic decodeEnvelope reads, with and without the client time and key', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9._-]{1,249}$/), fc.option(fc.integer({ min: 0, max: 2 ** 40 })), fc.option(fc.string({ minLength: 1, maxLength: 20 })), (topic, sts, key) => {
        const bytes = encodeEnvelope({ ...envelope({ topic, id: newEventId() }), ...(sts === null ? {} : { sts }), ...(key === null ? {} : { key }) });
        expect(peekTopic(bytes)).toBe(decodeEnvelope(bytes).topic);
      }),
    );
    expect(() => peekTopic(Buffer.from([1, 0, 0]))).toThrow(/truncated/);
    expect(() => peekTopic(Buffer.alloc(40, 2))).toThrow(/unknown envelope version 2/);
  });
});
