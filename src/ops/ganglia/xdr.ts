// The few XDR (RFC 4506) encodings Ganglia's wire format uses: big-endian 32-bit unsigned integers,
// booleans as such integers, and strings as a length, the bytes, and zero padding to a multiple of
// four. Nothing else of XDR is needed, so nothing else is here.

/** Builds one XDR message; `bytes()` returns it. */
export class XdrWriter {
  private readonly parts: Buffer[] = [];
  private size = 0;

  uint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`XDR unsigned int out of range: ${value}`);
    const part = Buffer.alloc(4);
    part.writeUInt32BE(value);
    return this.push(part);
  }

  bool(value: boolean): this {
    return this.uint(value ? 1 : 0);
  }

  /** A variable-length string: its UTF-8 length, its bytes, zeros up to a multiple of 4. */
  string(value: string): this {
    const text = Buffer.from(value, 'utf8');
    this.uint(text.length);
    this.push(text);
    const pad = (4 - (text.length % 4)) % 4;
    return pad === 0 ? this : this.push(Buffer.alloc(pad));
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }

  private push(part: Buffer): this {
    this.parts.push(part);
    this.size += part.length;
    return this;
  }
}
