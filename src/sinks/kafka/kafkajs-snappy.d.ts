// kafkajs-snappy ships no types: a factory of the codec shape kafkajs's CompressionCodecs hold.
declare module 'kafkajs-snappy' {
  const SnappyCodec: () => {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
    decompress(buffer: Buffer): Promise<Buffer>;
  };
  export default SnappyCodec;
}
