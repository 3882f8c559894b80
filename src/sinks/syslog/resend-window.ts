// The latest messages a stream connection took, kept up to a byte limit to be sent again first on
// the next connection (syslog has no acknowledgement; see sink.ts). Whole messages only, oldest
// dropped first. A head index rather than Array.shift(): past some ten thousand entries V8 moves the
// whole array on every shift, and at the default 8 MiB (~40 000 messages of 200 bytes) that cost the
// sink 90 % of its throughput (bench/RESULTS.md, Sinks). The dropped prefix is cut off in one slice
// once it is half the array, so each message is copied at most once more: amortised O(1).
export class ResendWindow {
  private messages: Buffer[] = [];
  private head = 0;
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.messages.length - this.head;
  }

  add(message: Buffer): void {
    this.messages.push(message);
    this.size += message.length;
    while (this.size > this.maxBytes && this.head < this.messages.length) this.size -= this.messages[this.head++]!.length;
    if (this.head >= 1024 && this.head * 2 >= this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.head = 0;
    }
  }

  /** Everything kept, oldest first, as one buffer. */
  concat(): Buffer {
    return Buffer.concat(this.head === 0 ? this.messages : this.messages.slice(this.head), this.size);
  }
}
