// Topic names follow Kafka's own rule (org.apache.kafka.common.internals.Topic), so that whatever we
// accept can be delivered to Kafka unchanged: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".
import { badRequest } from './respond';

const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopic(topic: string): boolean {
  return LEGAL.test(topic) && topic !== '.' && topic !== '..';
}

export function validateTopic(topic: string): string {
  if (!isLegalTopic(topic)) {
    const shown = topic.length > 60 ? `${topic.slice(0, 60)}…' (${topic.length} characters)` : `${topic}'`;
    throw badRequest('INVALID_TOPIC', `invalid topic name '${shown}: use 1 to 249 of [a-zA-Z0-9._-], not '.' or '..'`);
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
