// kcat (librdkafka's C producer) as the reference, and the CPU time of any command. The records it
// produces match Sparkngin's: a key and a value per input line (`key\tvalue`), and the five headers
// the Kafka sink puts on each record (src/sinks/kafka/record.ts), values of the same sizes (kcat's
// -H gives every record the same headers, which costs the broker and kcat the same bytes).
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';

export const KCAT_HEADERS = ['sparkngin-id=0193a5b2-7c4e-7d3a-9f1b-2c3d4e5f6a7b', 'sparkngin-ts=1764600000000', 'sparkngin-ip=127.0.0.1', 'sparkngin-host=127.0.0.1:45678', 'sparkngin-type=json'];

/** `kcat -P` arguments: idempotent, acks=all, keys split at a tab, the headers above, input from a file. */
export function kcatProduceArgs(broker: string, topic: string, input: string): string[] {
  return ['-P', '-b', broker, '-t', topic, '-K', '\t', ...KCAT_HEADERS.flatMap((h) => ['-H', h]), '-X', 'enable.idempotence=true', '-X', 'acks=all', '-l', input];
}

export const KCAT_COMMAND = `kcat -P -b <broker> -t <fresh topic> -K '\\t' ${KCAT_HEADERS.map((h) => `-H ${h}`).join(' ')} -X enable.idempotence=true -X acks=all -l <file>`;

/** Writes `count` lines of kcat input (`key\tvalue\n`), a chunk at a time (millions of lines). */
export function writeKcatInput(file: string, count: number, line: (i: number) => string): void {
  const fd = openSync(file, 'w');
  try {
    for (let start = 0; start < count; start += 100_000) {
      let chunk = '';
      for (let i = start; i < Math.min(count, start + 100_000); i++) chunk += line(i);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
}

/** Runs a command under bash so that `times` gives its CPU time (user + system of the command and
 *  every thread); returns its output, that time and the wall time. */
export function runTimed(argv: string[], cwd?: string): Promise<{ out: string; cpuSeconds: number; wallSeconds: number }> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('bash', ['-c', `${quoted} && times`], { stdio: ['ignore', 'pipe', 'inherit'], ...(cwd ? { cwd } : {}) });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => {
      const m = out.trim().split('\n').at(-1)?.match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
      if (code !== 0 || !m) return reject(new Error(`${argv[0]} failed (${code}): ${out.slice(-2000)}`));
      resolve({ out, cpuSeconds: Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]), wallSeconds: (Date.now() - started) / 1000 });
    });
  });
}
