// The process's own resources, for /stats: memory (all threads share the resident set) and CPU time.
export interface ProcessStats {
  residentBytes: number;
  /** V8 heap in use on the ingest thread (each delivery thread has its own heap). */
  heapUsedBytes: number;
  /** User and system CPU time of every thread, in seconds. */
  cpuSeconds: number;
}

export function processStats(): ProcessStats {
  const cpu = process.cpuUsage();
  return { residentBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}
