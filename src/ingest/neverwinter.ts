// The original Sparkngin's wire format (NeverwinterDP `Message`, serialised by Jackson), read as a
// legacy input: `{"header":{"version","topic","key"},"data":{"type","data","serializeType"},"traces":[]}`.
// `data.data` is a Java byte[], which Jackson writes as base64. The answer is the original `Ack`:
// `{"messageId": <header.key>, "status": "OK"|"ERROR", "message": <error text or null>}`.
import type { EventType } from '../envelope/envelope';
import { badRequest } from './reply';
import { checkTopic } from './topic-name';

export interface LegacyMessage {
  topic: string;
  key?: string;
  type: EventType;
  data: Buffer;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function parseLegacyMessage(text: string): LegacyMessage {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (error) {
    throw badRequest('MALFORMED_JSON', `the message is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(message) || !isObject(message.header)) throw badRequest('INVALID_MESSAGE', 'a Message needs a "header" object with a "topic"');
  const { topic, key } = message.header;
  if (typeof topic !== 'string') throw badRequest('INVALID_MESSAGE', 'header.topic must be a string');
  const payload = isObject(message.data) ? message.data : {};
  const bytes = payload.data;
  let data: Buffer;
  if (typeof bytes === 'string') data = Buffer.from(bytes, 'base64');
  else if (Array.isArray(bytes) && bytes.every((b) => Number.isInteger(b))) data = Buffer.from((bytes as number[]).map((b) => b & 0xff));
  else if (bytes === undefined || bytes === null) data = Buffer.alloc(0);
  else throw badRequest('INVALID_MESSAGE', 'data.data must be base64 bytes');
  const serializeType = typeof payload.serializeType === 'string' ? payload.serializeType.toLowerCase() : '';
  const parsed: LegacyMessage = { topic: checkTopic(topic), type: serializeType === 'json' && isJson(data) ? 'json' : 'binary', data };
  if (key !== undefined && key !== null) parsed.key = String(key);
  return parsed;
}

function isJson(data: Buffer): boolean {
  try {
    JSON.parse(data.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

export interface LegacyAck {
  messageId: string | null;
  status: 'OK' | 'ERROR';
  message: string | null;
}
