// TLS and SASL from the Kafka sink to the brokers (sinks.kafka.tls.*, sinks.kafka.sasl.*), as
// kafkajs's `ssl` and `sasl` client options: TLS is Node's tls.connect (CA, client certificate and
// key, SNI name), SASL is PLAIN or SCRAM-SHA-256/512 (passwords never leave this object: kafkajs
// logs mechanisms and outcomes, not credentials). Files are read once, when the sink is made, so
// that a missing or unreadable one stops the start with its name rather than failing every send.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { KafkaSinkConfig } from '../../config/defaults';
import { TlsFileError } from '../../errors';

function readPem(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TlsFileError(`sinks.kafka.tls.${setting}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
}

/** The `ssl` and `sasl` options of the kafkajs client; none of either when they are off. */
export function kafkaSecurity(config: Pick<KafkaSinkConfig, 'tls' | 'sasl'>): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { tls, sasl } = config;
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (tls.enabled) {
    const ssl: ConnectionOptions = {};
    if (tls.ca !== '') ssl.ca = readPem('ca', tls.ca);
    if (tls.cert !== '') ssl.cert = readPem('cert', tls.cert);
    if (tls.key !== '') ssl.key = readPem('key', tls.key);
    if (tls.passphrase !== '') ssl.passphrase = tls.passphrase;
    if (tls.servername !== '') ssl.servername = tls.servername;
    options.ssl = ssl;
  }
  if (sasl.mechanism !== 'none') options.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
  return options;
}
