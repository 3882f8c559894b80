// A detached shell that kills a peer (and removes its temp dir) when the test process dies without
// stopping it (a crash, a SIGKILL of the vitest worker), so that no gmond or nagios outlives a test.
import { spawn } from 'node:child_process';

export function watchPeer(pid: number, dir: string): void {
  const script =
    'while kill -0 "$0" 2>/dev/null && kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    'if ! kill -0 "$0" 2>/dev/null; then kill -9 "$1" 2>/dev/null; sleep 1; rm -rf "$2"; fi';
  spawn('sh', ['-c', script, String(process.pid), String(pid), dir], { detached: true, stdio: 'ignore' }).unref();
}
