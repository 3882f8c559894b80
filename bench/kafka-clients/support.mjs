// What one client does with what the Kafka sink needs, against a running broker:
//   node support.mjs <client> <broker> <prefix>
// The topics exist beforehand (bench/kafka-clients/support.ts creates them): <prefix>-plain,
// <prefix>-<codec> for each codec, and <prefix>-small with max.message.bytes=1000.
// Prints SUPPORT_JSON { codec: "ok" | error, tooLarge: {...} }; records are read back by the caller.
import { batch } from './records.mjs';

const [client, broker, prefix] = process.argv.slice(2);
const { connect } = await import(`./clients/${client}.mjs`);
const result = {};
/** The error as the sink would see it, and the Kafka error name found anywhere inside it. */
const describe = (error) => {
  const e = error ?? {};
  const seen = new Set();
  const queue = [e];
  let kafkaError;
  while (queue.length > 0 && kafkaError === undefined) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    kafkaError = [current.type, current.apiId].find((v) => typeof v === 'string' && v !== 'UNKNOWN');
    queue.push(current.cause, current.originalError, ...(Array.isArray(current.errors) ? current.errors : []));
  }
  return { name: e.name ?? e.constructor?.name, code: e.code, kafkaError, message: String(e.message ?? e).slice(0, 160) };
};
const withTimeout = (promise, ms) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);

for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
  try {
    const producer = await withTimeout(connect(broker, { compression: codec }), 20_000);
    await withTimeout(producer.send(`${prefix}-${codec}`, batch(0, 10)), 20_000);
    await producer.close().catch(() => undefined);
    result[codec] = 'ok';
  } catch (error) {
    result[codec] = describe(error);
  }
}

// A batch of three where the middle record is larger than the topic allows: is the error
// recognisable as "refused for good", and can the caller tell which record it was?
try {
  const producer = await withTimeout(connect(broker), 20_000);
  const records = batch(0, 3);
  records[1] = { ...records[1], value: Buffer.alloc(5000, 'x') };
  try {
    await withTimeout(producer.send(`${prefix}-small`, records), 30_000);
    result.tooLarge = { rejected: false };
  } catch (error) {
    result.tooLarge = { rejected: true, ...describe(error) };
  }
  await producer.close().catch(() => undefined);
} catch (error) {
  result.tooLarge = { connectFailed: describe(error) };
}
console.log(`SUPPORT_JSON ${JSON.stringify(result)}`);
process.exit(0);
