// A hostile mDNS responder for discovery tests, run on a host of a test LAN (netns.ts) with
// `node test/peers/netns-mdns-responder.mjs '<scenario JSON>'`. It answers queries for
// `_sparkngin._tcp.local` with:
//   - `flood` well-formed instances (`Flood 1` … `Flood N`) on the host `rogue.local`, whose address
//     (`address`) no host of the LAN has: reachable by nobody;
//   - with `bad: true`, instances whose records are wrong in every way a browser must survive: a
//     TXT record of another version, an unknown proto, a path that is no path, a string that is not
//     UTF-8, repeated keys, 200 keys, an SRV record with port 0, a pointer out of the service, and a
//     packet that is not DNS at all.
//   - with `claim: {name, port, target}`, unsolicited announcements of an SRV record for that
//     instance name, twice a second, as a host that took the name at the same moment would send.
// Answers are paced (one packet a millisecond, a few instances each, as a real responder splits
// them) so that they arrive rather than overflow a socket buffer. Prints "ready" once listening.
import dgram from 'node:dgram';
import mdnsFactory from 'multicast-dns';

const scenario = JSON.parse(process.argv[2] ?? '{}');
const SERVICE = '_sparkngin._tcp.local';
const HOST = 'rogue.local';
const address = scenario.address ?? '198.18.0.250';
const mdns = mdnsFactory({ interface: scenario.via, bind: '0.0.0.0' });
mdns.on('warning', () => undefined);

const txt = (entries) => entries.map((entry) => (typeof entry === 'string' ? Buffer.from(entry) : Buffer.from(entry)));
const GOOD = ['txtvers=1', 'path=/v1', 'proto=http', 'ingest=http', 'auth=none'];

/** name → { port, txt } */
const instances = [];
for (let i = 1; i <= (scenario.flood ?? 0); i++) instances.push({ name: `Flood ${i}`, port: 7080, txt: txt([...GOOD, `id=flood-${i}`]) });
if (scenario.bad) {
  instances.push(
    { name: 'Bad version', port: 7080, txt: txt(['txtvers=2', 'proto=http']) },
    { name: 'Bad proto', port: 7080, txt: txt(['txtvers=1', 'proto=gopher']) },
    { name: 'Bad path', port: 7080, txt: txt(['txtvers=1', 'path=../../etc/passwd']) },
    { name: 'Bad auth', port: 7080, txt: txt(['txtvers=1', 'auth=maybe']) },
    { name: 'Bad port', port: 0, txt: txt(GOOD) },
    // Not UTF-8: that string is dropped, the rest stands.
    { name: 'Bad utf8', port: 7080, txt: txt([[0x70, 0x72, 0x6f, 0x74, 0x6f, 0x3d, 0xff, 0xfe], 'txtvers=1', 'id=bad-utf8']) },
    // The first of a repeated key wins (RFC 6763 §6.4); a key named __proto__ is only a key.
    { name: 'Bad repeats', port: 7080, txt: txt(['txtvers=1', 'proto=https', 'proto=http', 'PROTO=http', '__proto__=polluted', '=novalue', 'id=bad-repeats']) },
    { name: 'Bad many keys', port: 7080, txt: txt(['txtvers=1', ...Array.from({ length: 200 }, (_, k) => `k${k}=${'x'.repeat(40)}`)]) },
  );
}

const recordsOf = (instance) => {
  const fqdn = `${instance.name}.${SERVICE}`;
  return [
    { name: SERVICE, type: 'PTR', ttl: 4500, data: fqdn },
    { name: fqdn, type: 'SRV', ttl: 120, data: { port: instance.port, target: HOST } },
    { name: fqdn, type: 'TXT', ttl: 4500, data: instance.txt },
  ];
};
const addressRecord = { name: HOST, type: 'A', ttl: 120, data: address };

const queue = [];
let sending = false;
function send(packet) {
  queue.push(packet);
  if (sending) return;
  sending = true;
  const next = () => {
    const item = queue.shift();
    if (item === undefined) {
      sending = false;
      return;
    }
    if (Buffer.isBuffer(item)) raw.send(item, 5353, '224.0.0.251', () => setTimeout(next, 1));
    else mdns.respond(item, () => setTimeout(next, 1));
  };
  next();
}

const raw = dgram.createSocket({ type: 'udp4', reuseAddr: true });
raw.bind(0, () => {
  if (scenario.via) raw.setMulticastInterface(scenario.via);
});

const PER_PACKET = 5;
mdns.on('query', (query) => {
  for (const question of query.questions) {
    if (question.name.toLowerCase() === SERVICE.toLowerCase() && question.type === 'PTR') {
      if (queue.length > 0) continue; // still answering the last query
      for (let i = 0; i < instances.length; i += PER_PACKET) {
        const records = instances.slice(i, i + PER_PACKET).flatMap(recordsOf);
        send({ answers: records.filter((record) => record.type === 'PTR'), additionals: [...records.filter((record) => record.type !== 'PTR'), addressRecord] });
      }
      if (scenario.bad) {
        // A pointer out of the service, an SRV for a name nobody pointed to, and a packet that is not DNS.
        send({ answers: [{ name: SERVICE, type: 'PTR', ttl: 4500, data: 'Elsewhere._other._tcp.local' }], additionals: [{ name: 'Stray._sparkngin._tcp.local', type: 'SRV', ttl: 120, data: { port: 1, target: HOST } }] });
        send(Buffer.from('this is not a DNS packet, and it is sent to 224.0.0.251:5353 all the same'));
        send(Buffer.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 60, 1, 2, 3]));
      }
    } else if (question.name.toLowerCase() === HOST && question.type === 'A') {
      send({ answers: [addressRecord] });
    } else {
      const instance = instances.find((candidate) => `${candidate.name}.${SERVICE}`.toLowerCase() === question.name.toLowerCase());
      if (instance) send({ answers: recordsOf(instance).slice(1), additionals: [addressRecord] });
    }
  }
});
if (scenario.claim) {
  const { name, port, target } = scenario.claim;
  const fqdn = `${name}.${SERVICE}`;
  setInterval(() => send({ answers: [{ name: SERVICE, type: 'PTR', ttl: 4500, data: fqdn }, { name: fqdn, type: 'SRV', ttl: 120, flush: true, data: { port, target } }] }), 500);
}
mdns.on('ready', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => mdns.destroy(() => process.exit(0)));
