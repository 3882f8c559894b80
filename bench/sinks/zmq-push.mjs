// The reference of the ZeroMQ sink benchmark: a bare zeromq v6 PUSH, bound like the sink's, sending
// <count> copies of <message> one `await send()` at a time (the library's documented idiom, and what
// the sink does per message), with the sink's high-water mark. Exits once libzmq handed everything
// to the peer (close() lingers until then).
//   node bench/sinks/zmq-push.mjs tcp://127.0.0.1:5555 200000 '{"user":42}'
import { Push } from 'zeromq';

const [endpoint, countArg, message] = process.argv.slice(2);
const count = Number(countArg);
const socket = new Push({ sendHighWaterMark: 1_000, linger: 30_000 });
await socket.bind(endpoint);
const body = Buffer.from(message);
for (let i = 0; i < count; i++) await socket.send(body);
socket.close();
