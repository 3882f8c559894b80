// What a result is worth without: the machine, the versions of everything measured, the commit.
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaVersionOf } from '../../test/peers/kafka';
import { benchDir, commandOutput, NODE20, repoRoot } from './run';

function dpkgVersion(name: string): string {
  const out = commandOutput('dpkg-query', ['-W', '-f=${Version}', name]);
  return out.includes('no packages found') ? 'not installed' : out;
}

function npmVersion(dir: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Median ms of a small append + fdatasync in the temp dir (where the benchmarks' spools live):
 *  Sparkngin answers after its group commit's fdatasync, so a slow disk shows in its numbers. */
export function fdatasyncMs(count = 50): number {
  const dir = mkdtempSync(join(tmpdir(), 'sparkngin-fsync-'));
  const fd = openSync(join(dir, 'probe'), 'a');
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      writeSync(fd, Buffer.alloc(128, 1));
      fdatasyncSync(fd);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(count / 2)]! * 100) / 100;
}

export function machineFacts(): Record<string, unknown> {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    host: commandOutput('hostname', []),
    cpu: `${cpu.length} × ${cpu[0]?.model ?? '?'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
    kernel: commandOutput('uname', ['-r']),
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
    fdatasyncMs: fdatasyncMs(),
    commit: commandOutput('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD']),
    dirty: commandOutput('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']) !== '',
    versions: {
      node: process.version,
      node20: commandOutput(NODE20, ['--version']),
      kafka: { '3.9': kafkaVersionOf('3.9'), '4': kafkaVersionOf('4') },
      java: commandOutput('java', ['-version']).split('\n')[0],
      nginx: commandOutput('nginx', ['-v']).replace('nginx version: ', ''),
      'libnginx-mod-http-lua': dpkgVersion('libnginx-mod-http-lua'),
      'lua-nginx-kafka (lua-resty-kafka)': dpkgVersion('lua-nginx-kafka'),
      wrk: dpkgVersion('wrk'),
      kcat: commandOutput('kcat', ['-V']).split('\n').find((l) => l.startsWith('Version'))?.split(' (')[0]?.replace('Version ', '') ?? 'not found',
      'kcat librdkafka': /librdkafka (\S+)/.exec(commandOutput('kcat', ['-V']))?.[1] ?? '?',
      kafkajs: `${npmVersion(repoRoot, 'kafkajs')} + patches/`,
      '@platformatic/kafka': npmVersion(benchDir, '@platformatic/kafka'),
      '@confluentinc/kafka-javascript': npmVersion(benchDir, '@confluentinc/kafka-javascript'),
    },
  };
}
