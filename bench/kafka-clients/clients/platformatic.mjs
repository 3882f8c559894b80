// @platformatic/kafka (pure JavaScript, maintained; needs Node >= 22.22, so bake-off runs it on the
// Node 22 from the npm registry in bench/node_modules). Idempotent (which makes it acks=all and one
// request in flight per connection: the client sets maxInflights = 1 itself).
import { Producer, stringSerializer } from '@platformatic/kafka';

export async function connect(brokers, { compression = 'none' } = {}) {
  const producer = new Producer({
    clientId: 'bakeoff-platformatic',
    bootstrapBrokers: [brokers],
    idempotent: true,
    autocreateTopics: false,
    compression,
    serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
  });
  return {
    send: (topic, records) => producer.send({ messages: records.map((r) => ({ topic, key: r.key, value: r.value, headers: r.headers })) }),
    close: () => producer.close(),
  };
}
