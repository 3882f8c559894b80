// The pure logic of discovery: the TXT record written and read back, what a reader refuses, names
// after a conflict and the tie-break, and which interfaces and addresses are advertised for which
// listen address. (The protocol itself is tested between real processes: test/integration/discovery.test.ts.)
import { writeFile } from 'node:fs/promises';
import type { NetworkInterfaceInfo } from 'node:os';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { advertisedInterfaces, isLoopback } from '../../src/discovery/addresses';
import { loadInstanceId } from '../../src/discovery/instance-id';
import { baseName, losesConflict, nextName } from '../../src/discovery/names';
import { buildTxt, decodeTxt, readTxt } from '../../src/discovery/txt';
import { tempDir } from './spool-helpers';

const strings = (...items: Array<string | number[]>) => items.map((item) => (typeof item === 'string' ? Buffer.from(item) : Uint8Array.from(item)));

describe('TXT record', () => {
  it('what the advertiser writes, the browser reads back', () => {
    const txt = buildTxt({ instanceId: '0b3c8a2e-1c1f-4c39-9a53-0a4a8f2f0e11', version: '1.2.3', proto: 'https', ingest: ['http', 'zmq'], authRequired: true });
    const read = readTxt(decodeTxt(Object.entries(txt).map(([key, value]) => Buffer.from(`${key}=${value}`))));
    expect(read).toEqual({
      txt,
      instanceId: '0b3c8a2e-1c1f-4c39-9a53-0a4a8f2f0e11',
      version: '1.2.3',
      basePath: '/v1',
      proto: 'https',
      ingest: ['http', 'zmq'],
      tokenRequired: true,
    });
  });

  it('no TXT keys mean the defaults; keys are compared without case and the first of a repeated key wins', () => {
    expect(readTxt(decodeTxt([]))).toMatchObject({ basePath: '/v1', proto: 'http', ingest: ['http'], tokenRequired: false });
    expect(decodeTxt(strings('Proto=https', 'PROTO=http', 'flag', '=nokey', 'k=a=b'))).toEqual({ proto: 'https', flag: '', k: 'a=b' });
  });

  it('a string that is not UTF-8 is dropped, a key named __proto__ stays a key, and at most 64 keys are kept', () => {
    const txt = decodeTxt(strings([0x61, 0x3d, 0xff], '__proto__=x', 'b=2', ...Array.from({ length: 100 }, (_, i) => `k${i}=v`)));
    expect(txt.a).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(txt, '__proto__')?.value).toBe('x');
    expect(Object.keys(txt)).toHaveLength(64);
  });

  it('refuses what it cannot use, and says why', () => {
    expect(readTxt({ txtvers: '2' })).toBe('txtvers="2" is not 1');
    expect(readTxt({ proto: 'gopher' })).toBe('proto="gopher" is neither http nor https');
    expect(readTxt({ path: 'v1' })).toMatch(/not a plain absolute path/);
    expect(readTxt({ path: '/../etc' })).toMatch(/not a plain absolute path/);
    expect(readTxt({ path: '/api/v1/' })).toEqual(expect.objectContaining({ basePath: '/api/v1' }));
    expect(readTxt({ path: '/a b' })).toMatch(/not a plain absolute path/);
    expect(readTxt({ ingest: 'http,,' })).toEqual(expect.objectContaining({ ingest: ['http'] }));
    expect(readTxt({ ingest: 'HTTP' })).toMatch(/not a list of protocols/);
    expect(readTxt({ auth: 'maybe' })).toBe('auth="maybe" is neither required nor none');
  });

  it('an id or version that is not plain text is left out, the record still used', () => {
    expect(readTxt({ id: 'a b', version: '\u0001' })).not.toHaveProperty('instanceId');
    expect(readTxt({ id: 'a b', version: '\u0001' })).not.toHaveProperty('version');
  });

  it('never throws, whatever the bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 80 }), (items) => {
        const txt = decodeTxt(items);
        expect(Object.keys(txt).length).toBeLessThanOrEqual(64);
        const read = readTxt(txt);
        expect(typeof read === 'string' || read.basePath.startsWith('/')).toBe(true);
      }),
    );
  });
});

describe('instance names', () => {
  it('default name from the host, dots made dashes, at most one DNS label', () => {
    expect(baseName('', 'ingest-01.example.com')).toBe('Sparkngin on ingest-01');
    expect(baseName('Ingest v1.2', 'x')).toBe('Ingest v1-2');
    expect(Buffer.byteLength(baseName('é'.repeat(60), 'x'))).toBeLessThanOrEqual(63);
  });

  it('a conflict numbers the name, keeping the number whole within 63 bytes', () => {
    expect(nextName('Ingest')).toBe('Ingest (2)');
    expect(nextName('Ingest (2)')).toBe('Ingest (3)');
    expect(nextName('Ingest (9)')).toBe('Ingest (10)');
    const long = nextName('x'.repeat(63));
    expect(long).toBe(`${'x'.repeat(59)} (2)`);
    expect(nextName('ü'.repeat(31))).toBe(`${'ü'.repeat(29)} (2)`);
  });

  it('of two instances in conflict, exactly one renames', () => {
    const a = { port: 7080, target: 'a.local' };
    const b = { port: 7080, target: 'b.local' };
    expect([losesConflict(a, b), losesConflict(b, a)]).toEqual([true, false]);
    expect(losesConflict(a, { port: 7080, target: 'A.local' })).toBe(false);
    expect([losesConflict({ port: 80, target: 'z' }, { port: 7080, target: 'a' }), losesConflict({ port: 7080, target: 'a' }, { port: 80, target: 'z' })]).toEqual([true, false]);
  });
});

describe('advertised interfaces', () => {
  const info = (address: string, extra: Partial<NetworkInterfaceInfo> = {}): NetworkInterfaceInfo =>
    ({ address, family: address.includes(':') ? 'IPv6' : 'IPv4', internal: false, netmask: '', mac: '02:00:00:00:00:01', cidr: null, ...extra }) as NetworkInterfaceInfo;
  const machine = {
    lo: [info('127.0.0.1', { internal: true }), info('::1', { internal: true })],
    eth0: [info('10.0.0.5'), info('fe80::1'), info('2001:db8::5')],
    eth1: [info('192.168.7.2')],
    v6only: [info('2001:db8:1::1')],
  };

  it('0.0.0.0: the IPv4 addresses of every interface but loopback; :: adds IPv6 (not link-local)', () => {
    expect(advertisedInterfaces('0.0.0.0', [], machine)).toEqual([
      { name: 'eth0', multicastVia: '10.0.0.5', addresses: ['10.0.0.5'] },
      { name: 'eth1', multicastVia: '192.168.7.2', addresses: ['192.168.7.2'] },
    ]);
    expect(advertisedInterfaces('::', [], machine)[0]).toEqual({ name: 'eth0', multicastVia: '10.0.0.5', addresses: ['10.0.0.5', '2001:db8::5'] });
  });

  it('one address: its interface with that address only; discovery.interfaces limits the rest', () => {
    expect(advertisedInterfaces('192.168.7.2', [], machine)).toEqual([{ name: 'eth1', multicastVia: '192.168.7.2', addresses: ['192.168.7.2'] }]);
    expect(advertisedInterfaces('::ffff:10.0.0.5', [], machine)).toEqual([{ name: 'eth0', multicastVia: '10.0.0.5', addresses: ['10.0.0.5'] }]);
    expect(advertisedInterfaces('0.0.0.0', ['eth1'], machine).map((iface) => iface.name)).toEqual(['eth1']);
    expect(advertisedInterfaces('0.0.0.0', ['nope'], machine)).toEqual([]);
  });

  it('loopback listeners are not advertised at all', () => {
    for (const address of ['127.0.0.1', '127.0.0.53', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopback(address)).toBe(true);
      expect(advertisedInterfaces(address, [], machine)).toEqual([]);
    }
  });
});

describe('instance id', () => {
  it('made once, then read back; an unreadable one is replaced', async () => {
    const temp = await tempDir('sparkngin-id-');
    try {
      const id = await loadInstanceId(temp.dir);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(await loadInstanceId(temp.dir)).toBe(id);
      await writeFile(`${temp.dir}/instance-id`, 'garbage');
      expect(await loadInstanceId(temp.dir)).not.toBe(id);
    } finally {
      await temp.remove();
    }
  });
});
