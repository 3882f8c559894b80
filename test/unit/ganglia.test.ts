// The Ganglia encoder (src/ops/ganglia/protocol.ts) read back field by field with an XDR reader of
// the test's own, against the layout of gm_protocol.x. That gmond takes these messages is shown by
// test/integration/ganglia.test.ts with a real gmond. And the publisher: a failed round does not stop the next.
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMetadata, encodeValue, type GangliaMetric, MAX_MESSAGE_BYTES, valueText, xmlSafe } from '../../src/ops/ganglia/protocol';
import { GangliaPublisher, parseDestination } from '../../src/ops/ganglia/publisher';
import { silentLogger } from '../../src/ops/log';
import { XdrWriter } from '../../src/ops/ganglia/xdr';
import { until } from '../wait';

class XdrReader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}
  uint(): number {
    const value = this.buffer.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }
  string(): string {
    const length = this.uint();
    const value = this.buffer.toString('utf8', this.at, this.at + length);
    const padded = length + ((4 - (length % 4)) % 4);
    expect(this.buffer.subarray(this.at + length, this.at + padded).every((byte) => byte === 0), 'XDR padding is zeros').toBe(true);
    this.at += padded;
    return value;
  }
  get rest(): number {
    return this.buffer.length - this.at;
  }
}

const metric: GangliaMetric = {
  name: 'sparkngin_sink_lag_records.kafka',
  type: 'double',
  units: 'records',
  slope: 'both',
  tmax: 15,
  dmax: 0,
  group: 'sparkngin',
  title: 'Sink lag (kafka)',
  desc: 'Records spooled but not yet accepted by the sink.',
};

describe('Ganglia messages', () => {
  it('metadata: id 128, metric id, type, name, units, slope, tmax, dmax, then GROUP, TITLE, DESC', () => {
    const r = new XdrReader(encodeMetadata({ host: 'ingest-01' }, metric));
    expect([r.uint(), r.string(), r.string(), r.uint()]).toEqual([128, 'ingest-01', metric.name, 0]);
    expect([r.string(), r.string(), r.string(), r.uint(), r.uint(), r.uint()]).toEqual(['double', metric.name, 'records', 3, 15, 0]);
    const count = r.uint();
    const extra = Object.fromEntries(Array.from({ length: count }, () => [r.string(), r.string()]));
    expect(extra).toEqual({ GROUP: 'sparkngin', TITLE: 'Sink lag (kafka)', DESC: metric.desc });
    expect(r.rest).toBe(0);
  });

  it('a spoofed host: spoof set, host "IP:NAME" in the id and in SPOOF_HOST', () => {
    const source = { host: 'ingest-01', spoof: '10.0.0.7:web-07' };
    const r = new XdrReader(encodeMetadata(source, { ...metric, slope: 'positive' }));
    expect([r.uint(), r.string(), r.string(), r.uint()]).toEqual([128, '10.0.0.7:web-07', metric.name, 1]);
    expect([r.string(), r.string(), r.string(), r.uint()]).toEqual(['double', metric.name, 'records', 1]);
    r.uint();
    r.uint();
    const count = r.uint();
    const extra = Object.fromEntries(Array.from({ length: count }, () => [r.string(), r.string()]));
    expect(extra.SPOOF_HOST).toBe('10.0.0.7:web-07');
    const value = new XdrReader(encodeValue(source, metric.name, '7'));
    expect([value.uint(), value.string(), value.string(), value.uint(), value.string(), value.string()]).toEqual([133, '10.0.0.7:web-07', metric.name, 1, '%s', '7']);
  });

  it('value: id 133, the metric id, "%s" and the value as text', () => {
    const r = new XdrReader(encodeValue({ host: 'h' }, 'm', '12.5'));
    expect([r.uint(), r.string(), r.string(), r.uint(), r.string(), r.string()]).toEqual([133, 'h', 'm', 0, '%s', '12.5']);
    expect(r.rest).toBe(0);
  });

  it('values as gmond parses them: integers for integer types, full precision for doubles, text made XML-safe', () => {
    expect(valueText('uint32', 41.9)).toBe('41');
    expect(valueText('double', 0.1 + 0.2)).toBe(String(0.1 + 0.2));
    expect(valueText('double', Number.NaN)).toBe('0');
    expect(valueText('string', 'a"b<c>&')).toBe("a'b(c)and");
  });

  it('no text that reaches the XML raw can break it (gmond does not escape)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        expect(xmlSafe(text)).not.toMatch(/[&<>"]/);
      }),
    );
    const r = new XdrReader(encodeMetadata({ host: 'h' }, { ...metric, units: 'a<b', desc: 'say "hi" & <bye>' }));
    const fields = [r.uint(), r.string(), r.string(), r.uint(), r.string(), r.string(), r.string()];
    expect(fields[6]).toBe('a(b');
    r.uint();
    r.uint();
    r.uint();
    const count = r.uint();
    const extra = Object.fromEntries(Array.from({ length: count }, () => [r.string(), r.string()]));
    expect(extra.DESC).toBe("say 'hi' and (bye)");
  });

  it('a message longer than gmond takes is a bug, refused loudly', () => {
    expect(() => encodeMetadata({ host: 'h' }, { ...metric, desc: 'x'.repeat(MAX_MESSAGE_BYTES) })).toThrow(RangeError);
  });

  it('XDR strings: UTF-8 length, bytes, zero padding to 4', () => {
    expect(new XdrWriter().string('abcde').bytes()).toEqual(Buffer.from([0, 0, 0, 5, 97, 98, 99, 100, 101, 0, 0, 0]));
    expect(new XdrWriter().string('é').bytes()).toEqual(Buffer.from([0, 0, 0, 2, 0xc3, 0xa9, 0, 0]));
    expect(() => new XdrWriter().uint(-1)).toThrow(RangeError);
  });

  it('destinations: host:port, [v6]:port, bare hosts take 8649', () => {
    expect(parseDestination('gmond.example:8650')).toEqual({ host: 'gmond.example', port: 8650 });
    expect(parseDestination('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 8649 });
    expect(parseDestination('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseDestination('::1')).toEqual({ host: '::1', port: 8649 });
    expect(parseDestination('239.2.11.71:8649')).toEqual({ host: '239.2.11.71', port: 8649 });
  });
});

describe('Ganglia publisher rounds', () => {
  it('a round that fails is logged and the next one is sent', async () => {
    const receiver = createSocket('udp4');
    const received: Buffer[] = [];
    receiver.on('message', (message) => received.push(message));
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', () => resolve()));
    const errors: string[] = [];
    let calls = 0;
    const publisher = new GangliaPublisher({
      destinations: [{ host: '127.0.0.1', port: (receiver.address() as AddressInfo).port }],
      source: { host: 'h' },
      intervalMs: 60_000,
      metadataIntervalMs: 60_000,
      multicastTtl: 1,
      multicastInterface: '',
      collect: () => {
        if (++calls === 1) throw new Error('boom');
        return [{ metric, value: 5 }];
      },
      logger: { ...silentLogger, error: (event: string) => errors.push(event) },
    });
    try {
      await publisher.publish();
      expect(errors).toEqual(['ganglia.round_failed']);
      await publisher.publish();
      await until(() => received.length === 2, 'the metadata and the value arrive');
      expect(received.map((message) => message.readUInt32BE(0))).toEqual([128, 133]);
    } finally {
      await publisher.stop();
      receiver.close();
    }
  });
});
