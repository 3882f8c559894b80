// Ganglia over multicast, which only a configured multicast address turns on, on a LAN of network
// namespaces (test/peers/netns.ts: the multicast never leaves them): a daemon on h1 sends to
// 239.2.11.71:8649 (Ganglia's default channel); a listener on h2 that joined the group receives its
// metadata and value messages. (gmond itself stays unicast on 127.0.0.1 in ganglia.test.ts: no
// mcast_join anywhere.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, type Lan } from '../peers/netns';
import { startDaemonOn } from '../peers/netns-daemon';

/** Joins the group on the host's address, prints one JSON line per datagram: message id, host, name, spoof. */
const LISTENER = `
import json, socket, struct, sys, time
group, port, local, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group, port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(local))
s.settimeout(0.5)
end = time.time() + seconds
def string(data, at):
    n = struct.unpack_from('>I', data, at)[0]
    return data[at + 4:at + 4 + n].decode(), at + 4 + ((n + 3) // 4) * 4
while time.time() < end:
    try:
        data, sender = s.recvfrom(2048)
    except socket.timeout:
        continue
    kind = struct.unpack_from('>I', data, 0)[0]
    host, at = string(data, 4)
    name, at = string(data, at)
    print(json.dumps({'id': kind, 'host': host, 'name': name, 'from': sender[0]}), flush=True)
`;

let lan: Lan;
beforeAll(async () => {
  lan = await createLan(2);
});
afterAll(async () => {
  await lan?.close();
});

describe('Ganglia multicast', () => {
  it('a daemon configured with a multicast address sends metadata and values to the group', async () => {
    const [h1, h2] = lan.hosts as [Lan['hosts'][0], Lan['hosts'][0]];
    // Metadata every second, as values: under load the listener may join the group after the daemon's
    // first metadata went out, and the default re-sends it only after 60 s.
    const listening = h2.exec('python3', ['-c', LISTENER, '239.2.11.71', '8649', h2.address, '8'], { timeoutMs: 30_000 });
    const daemon = await startDaemonOn(h1, { port: 7081, config: { ganglia: { hosts: ['239.2.11.71:8649'], intervalSeconds: 1, metadataIntervalSeconds: 1, multicastInterface: h1.address } } });
    try {
      const { stdout } = await listening;
      const packets = stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: number; host: string; name: string; from: string });
      expect(packets.length).toBeGreaterThan(0);
      expect(new Set(packets.map((packet) => packet.from))).toEqual(new Set([h1.address]));
      const names = (id: number) => new Set(packets.filter((packet) => packet.id === id).map((packet) => packet.name));
      expect(names(128)).toContain('sparkngin_uptime_seconds');
      expect(names(133)).toContain('sparkngin_uptime_seconds');
      expect(names(133)).toContain('sparkngin_spool_bytes');
    } finally {
      await daemon.close();
    }
  }, 120_000);
});
