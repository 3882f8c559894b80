// Topic names follow Kafka's own rule (src/envelope/rules.ts), so that whatever we accept can be
// delivered to Kafka unchanged.
import { isLegalTopic, TOPIC_RULE } from '../envelope/rules';
import { badRequest } from './respond';

export { isLegalTopic };

export function validateTopic(topic: string): string {
  if (!isLegalTopic(topic)) {
    const shown = topic.length > 60 ? `${topic.slice(0, 60)}…' (${topic.length} characters)` : `${topic}'`;
    throw badRequest('INVALID_TOPIC', `invalid topic name '${shown}: ${TOPIC_RULE}`);
  }
  return topic;
}

/** The `{topic}` segment of a path, percent-decoded (legal names never need it, but clients encode anyway). */
export function topicFromPath(segment: string): string {
  if (segment.indexOf('%') === -1) return validateTopic(segment);
  let topic: string;
  try {
    topic = decodeURIComponent(segment);
  } catch {
    throw badRequest('INVALID_TOPIC', 'the topic name is not valid percent-encoding');
  }
  return validateTopic(topic);
}
