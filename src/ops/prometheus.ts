// Prometheus text exposition (version 0.0.4) of the daemon's stats. Each metric is named once here.
import type { DaemonStats } from '../daemon/daemon';

interface Sample {
  labels?: Record<string, string>;
  value: number;
}

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function metric(name: string, type: 'counter' | 'gauge', help: string, samples: Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const { labels, value } of samples) {
    const labelText = labels ? `{${Object.entries(labels).map(([key, v]) => `${key}="${escapeLabel(v)}"`).join(',')}}` : '';
    lines.push(`${name}${labelText} ${value}`);
  }
  return lines.join('\n');
}

export function renderPrometheus(stats: DaemonStats): string {
  const { spool, sinks } = stats;
  const perSink = (pick: (sink: DaemonStats['sinks'][number]) => number): Sample[] => sinks.map((sink) => ({ labels: { sink: sink.sink }, value: pick(sink) }));
  return `${[
    metric('sparkngin_build_info', 'gauge', 'Version of the running daemon.', [{ labels: { version: stats.version }, value: 1 }]),
    metric('sparkngin_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [{ value: stats.uptimeSeconds }]),
    metric('sparkngin_spool_bytes', 'gauge', 'Bytes in the spool on disk.', [{ value: spool.bytes }]),
    metric('sparkngin_spool_segments', 'gauge', 'Segment files in the spool.', [{ value: spool.segments }]),
    metric('sparkngin_spool_appended_records_total', 'counter', 'Records appended (acknowledged) since start.', [{ value: spool.appendedRecords }]),
    metric('sparkngin_spool_syncs_total', 'counter', 'fdatasync calls of the spool writer (group commits).', [{ value: spool.syncs }]),
    metric('sparkngin_spool_dropped_records_total', 'counter', 'Undelivered records dropped by the age or size limit.', [{ value: spool.droppedRecords }]),
    metric('sparkngin_spool_damaged_stretches_total', 'counter', 'Damaged stretches found and skipped in the spool.', [{ value: spool.damagedStretches }]),
    metric('sparkngin_spool_lost_records_total', 'counter', 'Acknowledged records found lost (damaged, deleted or quarantined segments), each counted once.', [{ value: spool.lostRecords }]),
    metric('sparkngin_spool_lost_ranges_total', 'counter', 'Ranges of lost records found (each logged as spool.records_lost).', [{ value: spool.lostRanges }]),
    metric('sparkngin_spool_quarantined_segments_total', 'counter', 'Unreadable segments moved aside to spool/quarantine.', [{ value: spool.quarantinedSegments }]),
    metric('sparkngin_spool_stray_files_total', 'counter', 'Files named like segments that are not, moved aside.', [{ value: spool.strayFiles }]),
    metric('sparkngin_spool_cursor_resets_total', 'counter', 'Sink cursors past the end of the spool or unreadable, reset to redeliver.', [{ value: spool.cursorResets }]),
    metric('sparkngin_spool_full', 'gauge', '1 while appends are refused for lack of room.', [{ value: spool.full ? 1 : 0 }]),
    metric(
      'sparkngin_ingest_refused_requests_total',
      'counter',
      'Requests answered with an error, by HTTP status and error code.',
      stats.ingest.refused.map(({ status, code, count }) => ({ labels: { status: String(status), code }, value: count })),
    ),
    metric('sparkngin_ingest_connections', 'gauge', 'Client connections open.', [{ value: stats.ingest.connections }]),
    metric('sparkngin_ingest_requests_in_flight', 'gauge', 'Requests read but not yet answered.', [{ value: stats.ingest.requestsInFlight }]),
    metric('sparkngin_ingest_buffered_bytes', 'gauge', 'Memory charged to http.maxBufferedBytes by the requests in flight.', [{ value: stats.ingest.bufferedBytes }]),
    metric('sparkngin_ingest_sink_ack_waiting', 'gauge', 'ack=sink requests waiting for their sinks.', [{ value: stats.ingest.sinkAckWaiting }]),
    ...(stats.ingest.tls
      ? [metric('sparkngin_tls_certificate_expiry_timestamp_seconds', 'gauge', 'When the certificate the ingest serves expires (seconds since the epoch).', [{ value: Date.parse(stats.ingest.tls.notAfter) / 1000 }])]
      : []),
    metric('sparkngin_sink_up', 'gauge', '1 when the sink accepted its last send.', perSink((sink) => (sink.health.state === 'down' ? 0 : 1))),
    metric('sparkngin_sink_lag_records', 'gauge', 'Records spooled but not yet accepted by the sink.', perSink((sink) => sink.lagRecords)),
    metric('sparkngin_sink_delivered_records_total', 'counter', 'Records the sink accepted since start.', perSink((sink) => sink.deliveredRecords)),
    metric('sparkngin_sink_dead_lettered_records_total', 'counter', 'Records the destination refused for good, parked in the dead-letter file.', perSink((sink) => sink.deadLetteredRecords)),
    metric('sparkngin_sink_failed_sends_total', 'counter', 'Sends that failed and were retried.', perSink((sink) => sink.failedSends)),
    metric('sparkngin_sink_loop_restarts_total', 'counter', 'Restarts of the delivery loop after an unexpected error (a bug in the sink).', perSink((sink) => sink.loopRestarts)),
    metric(
      'sparkngin_sink_skipped_records_total',
      'counter',
      'Records the sink never got because they were lost in the spool.',
      spool.readers.map((reader) => ({ labels: { sink: reader.sink }, value: reader.skippedRecords })),
    ),
  ].join('\n')}\n`;
}
