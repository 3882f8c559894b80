// The frames of Avro's Netty transport (Avro's NettyTransportCodec, which Flume's Avro source and its
// NettyAvroRpcClient speak), for avsc's stateful client channel in `objectMode`, which hands us and
// takes `{id, payload: Buffer[]}` and does everything else: handshake, message encoding, ids, timeouts.
//
// A pack on the wire, all integers big-endian int32:
//
//   serial | count | length₁ | bytes₁ | … | length_count | bytes_count
//
// `serial` is the call's id, echoed by the server in its answer; the buffers, put together, are one
// Avro IPC request or response (handshake, metadata, message name, parameters / status).
//
// Why our own framer, when avsc ships one (its `NettyDecoder`, used when `objectMode` is off): that
// decoder trusts the peer. It buffers whatever the count and lengths announce, without a bound, so a
// peer that is not an Avro source (an HTTP server answering `HTTP/1.1 400`, whose first bytes read
// as a count of 791 million buffers) or one that misbehaves makes the daemon hold everything it
// sends until the request times out; a negative count or length is taken as it comes and the state
// goes wrong silently; and it copies all it holds on every chunk. Alternatives: wrapping avsc's
// decoder with a byte budget (bounds memory, but still cannot tell garbage from a slow answer);
// hand-writing the whole client with avsc's Types (the handshake, its NONE → retry dance, ids and
// timeouts are what avsc does well and is tested for). So avsc keeps all of that, and this file
// only cuts frames, refusing at once what Flume never sends: answers are a few bytes (a status) or a
// handshake with the server's protocol (a few KiB), so a pack over MAX_BUFFERS buffers or a buffer
// over MAX_BUFFER_BYTES is garbage, and the connection is closed with FLUME_PROTOCOL.
import { Transform, type TransformCallback } from 'node:stream';
import { SparknginError } from '../../errors';

export interface NettyPack {
  id: number;
  payload: Buffer[];
}

/** Most buffers in one pack we accept (Flume's answers have one or two). */
export const MAX_BUFFERS = 64;
/** Largest buffer in a pack we accept (Flume's largest answer is a handshake with its protocol, ~2 KiB). */
export const MAX_BUFFER_BYTES = 1024 * 1024;

/** The peer sent bytes that are not Avro's Netty framing (or far outside what Flume sends). */
export class FlumeProtocolError extends SparknginError {
  constructor(detail: string) {
    super('FLUME_PROTOCOL', `the peer does not speak Flume's Avro protocol: ${detail}`, { retriable: true });
  }
}

/** One pack as the bytes to write: its header, then each buffer after its length. */
export function encodePack(pack: NettyPack): Buffer {
  const parts: Buffer[] = [Buffer.allocUnsafe(8)];
  parts[0]!.writeInt32BE(pack.id | 0, 0);
  parts[0]!.writeInt32BE(pack.payload.length, 4);
  for (const buffer of pack.payload) {
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(buffer.length, 0);
    parts.push(length, buffer);
  }
  // One write per pack: separate small writes (header, lengths) would meet Nagle's algorithm and the
  // peer's delayed acknowledgements.
  return Buffer.concat(parts);
}

/** Packs (objects) in, bytes out. */
export class NettyEncoder extends Transform {
  constructor() {
    super({ writableObjectMode: true });
  }

  override _transform(pack: NettyPack, _encoding: BufferEncoding, done: TransformCallback): void {
    done(null, encodePack(pack));
  }
}

/**
 * Bytes in, packs out, in any split of the stream into chunks. Holds at most one pack's bytes (each
 * bounded); a pack that breaks the bounds fails the stream with FlumeProtocolError.
 */
export class NettyDecoder extends Transform {
  private chunks: Buffer[] = [];
  private held = 0;
  private id = 0;
  /** Buffers still to read in the current pack; -1 while its header is not read. */
  private remaining = -1;
  private payload: Buffer[] = [];
  private nextLength = -1;

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.chunks.push(chunk);
    this.held += chunk.length;
    try {
      this.cut();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.held > 0 || this.remaining >= 0 ? new FlumeProtocolError(`the connection ended inside a pack (${this.held} bytes left over)`) : null);
  }

  private cut(): void {
    for (;;) {
      if (this.remaining < 0) {
        if (this.held < 8) return;
        const head = this.consume(8);
        this.id = head.readInt32BE(0);
        const count = head.readInt32BE(4);
        if (count < 0 || count > MAX_BUFFERS) throw new FlumeProtocolError(`a pack of ${count} buffers`);
        this.remaining = count;
        this.payload = [];
      }
      while (this.remaining > 0) {
        if (this.nextLength < 0) {
          if (this.held < 4) return;
          const length = this.consume(4).readInt32BE(0);
          if (length < 0 || length > MAX_BUFFER_BYTES) throw new FlumeProtocolError(`a buffer of ${length} bytes`);
          this.nextLength = length;
        }
        if (this.held < this.nextLength) return;
        this.payload.push(this.consume(this.nextLength));
        this.nextLength = -1;
        this.remaining--;
      }
      this.push({ id: this.id, payload: this.payload } satisfies NettyPack);
      this.remaining = -1;
      this.payload = [];
    }
  }

  /** The next `n` bytes (n ≤ held), copied only when they span chunks. */
  private consume(n: number): Buffer {
    this.held -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}
