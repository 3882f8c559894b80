// Delivery rate to a local Kafka broker, with kcat producing the same records as the reference,
// in the same run: N events are spooled with the Kafka sink off, then the daemon starts with it on
// and /stats is polled until the backlog is gone.   bench/run-kafka.sh [events=500000]
import { execSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKafka } from '../test/peers/kafka';
import { freePort } from '../test/peers/ports';

const events = Number(process.argv[2] ?? 500_000);
const kafka = await startKafka({ version: '3.9', partitions: 3 });
const dir = mkdtempSync(join(tmpdir(), 'sparkngin-kbench-'));
const line = JSON.stringify({ user: 42, page: '/home', ref: 'https://example.com/x', ua: 'Mozilla/5.0' });
const bundle = join(import.meta.dirname, '..', 'sparkngin.cjs');

async function daemon(kafkaOn: boolean) {
  const port = await freePort();
  const config = join(dir, `c-${port}.yaml`);
  writeFileSync(config, `listen: {host: 127.0.0.1, port: ${port}}\ndataDir: ${dir}\nsinks:\n  file: {enabled: false}\n  kafka: {enabled: ${kafkaOn}, brokers: ['${kafka.brokers}']}\n`);
  const child = spawn(process.execPath, [bundle, 'start', '--config', config], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  return { url: `http://127.0.0.1:${port}`, child };
}

const filler = await daemon(false);
const body = `${Array.from({ length: 1000 }, () => line).join('\n')}\n`;
for (let i = 0; i < events / 1000; i++) {
  await fetch(`${filler.url}/v1/topics/kbench?key=k${i % 50}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
}
filler.child.kill('SIGTERM');
await new Promise((r) => filler.child.once('exit', r));

const sender = await daemon(true);
const started = Date.now();
let delivered = 0;
while (delivered < events && Date.now() - started < 600_000) {
  await new Promise((r) => setTimeout(r, 250));
  delivered = ((await (await fetch(`${sender.url}/stats`)).json()) as any).sinks[0].deliveredRecords;
}
const seconds = (Date.now() - started) / 1000;
sender.child.kill('SIGTERM');

writeFileSync(join(dir, 'kcat.txt'), `${Array.from({ length: events }, () => line).join('\n')}\n`);
const kcatStart = Date.now();
execSync(`kcat -P -b ${kafka.brokers} -t kcat-ref -X enable.idempotence=true -X acks=all -l ${join(dir, 'kcat.txt')}`);
const kcatSeconds = (Date.now() - kcatStart) / 1000;
console.log(JSON.stringify({ events, sparkngin: { seconds, eventsPerSecond: Math.round(delivered / seconds), delivered }, kcat: { seconds: kcatSeconds, eventsPerSecond: Math.round(events / kcatSeconds) } }));
await kafka.close();
execSync(`rm -rf ${dir}`);
process.exit(0);
