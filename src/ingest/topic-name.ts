import { badRequest } from './reply';

// Kafka's own rule (kafka.common.internals.Topic): legal characters, at most 249, not "." or "..".
const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

export function checkTopic(raw: string): string {
  let topic: string;
  try {
    topic = decodeURIComponent(raw);
  } catch {
    throw badRequest('INVALID_TOPIC', 'the topic name is not valid percent-encoding');
  }
  if (!LEGAL.test(topic) || topic === '.' || topic === '..') {
    throw badRequest('INVALID_TOPIC', `invalid topic name '${topic.slice(0, 300)}': use 1 to 249 of [a-zA-Z0-9._-], not '.' or '..'`);
  }
  return topic;
}
