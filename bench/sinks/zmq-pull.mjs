// The ZeroMQ peer of the sink benchmark: a PULL socket that connects to <endpoint> (the PUSH side
// binds, as the sink does by default) and counts messages until <expected> arrived or none came for
// <quietMs>. Prints one JSON line: {received, bytes, firstMs, lastMs} (epoch ms of the first and
// last message), so the rate is read on the receiving side for the sink and the reference alike.
//   node bench/sinks/zmq-pull.mjs tcp://127.0.0.1:5555 200000 [quietMs]
import { Pull } from 'zeromq';

const [endpoint, expectedArg, quietArg] = process.argv.slice(2);
const expected = Number(expectedArg);
const quietMs = Number(quietArg ?? 30_000);
const socket = new Pull({ receiveTimeout: quietMs });
socket.connect(endpoint);
console.error('zmq-pull: connected');
let received = 0;
let bytes = 0;
let firstMs;
let lastMs;
try {
  while (received < expected) {
    const [message] = await socket.receive();
    lastMs = Date.now();
    firstMs ??= lastMs;
    received++;
    bytes += message.length;
  }
} catch (error) {
  if (error.code !== 'EAGAIN') throw error; // EAGAIN: quiet for quietMs, report what came
}
socket.close();
console.log(JSON.stringify({ received, bytes, firstMs, lastMs }));
