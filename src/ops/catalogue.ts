// The daemon's telemetry, named once: every metric (name, type, unit, help, and where /stats holds
// it, which also gives its labels) and every log event. The Prometheus exposition, /stats, the
// status page, the heartbeat, the Ganglia publisher and the Nagios check all render from this list,
// so none can show a number another lacks, and adding a metric is one line here (plus the number
// in the stats, wherever it is counted). test/unit/catalogue.test.ts checks that every log event in
// src/ is listed here, and test/integration/telemetry.test.ts that every metric appears in /metrics
// and /stats of a live daemon.
//
// Why /stats paths rather than a value function per metric: /stats is the one snapshot every
// renderer has, even one in another process (the Nagios check and the agent read it over HTTP), and
// a path is data that docs, tests and other renderers can read without running daemon code.
//
// A path (`stat`) is dot-separated keys from the root of /stats. `key[a,b]` is a list whose items
// each give one sample, labelled by their fields `a` and `b` (an object instead of a list gives one
// sample); a path that ends at such a `[…]` gives the value 1 (an info or state-set metric). The
// value is a number, a boolean (1/0), a date string (seconds since the epoch), or a histogram
// snapshot (src/ops/histogram.ts) for type `histogram`.
import type { LogLevel } from './log';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** Base units (Prometheus: the name ends with the unit; Ganglia: the `units` of the metadata). */
export type MetricUnit = 'bytes' | 'seconds' | 'events' | 'records' | 'requests' | 'messages' | 'segments' | 'files' | 'ranges' | 'stretches' | 'connections' | 'sends' | 'restarts' | 'heartbeats' | 'interfaces' | 'ratio' | 'info';

export interface MetricDefinition {
  /** Prometheus name: `sparkngin_` prefix, base unit, `_total` for counters. */
  name: string;
  type: MetricType;
  unit: MetricUnit;
  /** Where /stats holds it (grammar at the top of this file); its `[…]` give the labels. */
  stat: string;
  help: string;
  /** Shown only under this condition (absent otherwise, in every renderer). */
  when?: string;
}

export interface Metric extends MetricDefinition {
  /** Label names, in order, from the `[…]` of the path. */
  labels: readonly string[];
  /** What the metric is about: the first key of its path (`spool`, `sinks`, `ingest`…; `daemon` for the root). Ganglia's group. */
  group: string;
}

const metric = (name: string, type: MetricType, unit: MetricUnit, stat: string, help: string, when?: string): MetricDefinition => ({
  name,
  type,
  unit,
  stat,
  help,
  ...(when === undefined ? {} : { when }),
});

const THREADS_ON = 'the events port is served by several threads (http.threads above 1)';
const ZMQ_ON = 'ZeroMQ ingest is on (zmq.pull or zmq.router set)';

const DEFINITIONS: readonly MetricDefinition[] = [
  // The daemon
  metric('sparkngin_build_info', 'gauge', 'info', '[version]', 'Version of the running daemon (value 1).'),
  metric('sparkngin_uptime_seconds', 'gauge', 'seconds', 'uptimeSeconds', 'Seconds since the daemon started.'),
  metric('sparkngin_process_resident_memory_bytes', 'gauge', 'bytes', 'process.residentBytes', 'Resident memory of the process (all threads).'),
  metric('sparkngin_process_heap_used_bytes', 'gauge', 'bytes', 'process.heapUsedBytes', "V8 heap in use on the ingest thread."),
  metric('sparkngin_process_cpu_seconds_total', 'counter', 'seconds', 'process.cpuSeconds', 'CPU time used by the process (user and system, all threads).'),
  metric('sparkngin_log_events_total', 'counter', 'events', 'log.events[event,level].count', 'Log lines at warn and error since start, by event name (every event is listed in the catalogue).'),
  // Ingest
  metric('sparkngin_ingest_accepted_requests_total', 'counter', 'requests', 'ingest.accepted.requests', 'Requests whose events were acknowledged (202).'),
  metric('sparkngin_ingest_accepted_events_total', 'counter', 'events', 'ingest.accepted.events', 'Events acknowledged.'),
  metric('sparkngin_ingest_request_duration_seconds', 'histogram', 'seconds', 'ingest.requestSeconds', 'From a request\'s headers to its acknowledgement (body read, events stored per the ack mode), per accepted request.'),
  metric('sparkngin_ingest_request_events', 'histogram', 'events', 'ingest.eventsPerRequest', 'Events per accepted request.'),
  metric('sparkngin_ingest_refused_requests_total', 'counter', 'requests', 'ingest.refused[status,code].count', 'Requests answered with an error, by HTTP status and error code.'),
  metric('sparkngin_ingest_connections', 'gauge', 'connections', 'ingest.connections', 'Client connections open.'),
  metric('sparkngin_ingest_requests_in_flight', 'gauge', 'requests', 'ingest.requestsInFlight', 'Requests read but not yet answered.'),
  metric('sparkngin_ingest_buffered_bytes', 'gauge', 'bytes', 'ingest.bufferedBytes', 'Memory charged to http.maxBufferedBytes by the requests in flight.'),
  metric('sparkngin_ingest_thread_accepted_requests_total', 'counter', 'requests', 'ingest.threads[thread].acceptedRequests', 'Requests acknowledged by each thread of the events port (0: the main thread), as last reported.', THREADS_ON),
  metric('sparkngin_ingest_thread_connections', 'gauge', 'connections', 'ingest.threads[thread].connections', 'Client connections open on each thread of the events port.', THREADS_ON),
  metric('sparkngin_ingest_sink_ack_waiting', 'gauge', 'requests', 'ingest.sinkAckWaiting', 'ack=sink requests waiting for their sinks.'),
  metric('sparkngin_tls_certificate_expiry_timestamp_seconds', 'gauge', 'seconds', 'ingest.tls.notAfter', 'When the certificate the ingest serves expires (seconds since the epoch).', 'TLS is on (tls.cert set)'),
  // ZeroMQ ingest (src/ingest/zmq/, docs/zeromq.md), per socket: pull, router
  metric('sparkngin_zmq_received_messages_total', 'counter', 'messages', 'ingest.zmq.sockets[socket].receivedMessages', 'ZeroMQ messages received, by socket.', ZMQ_ON),
  metric('sparkngin_zmq_stored_events_total', 'counter', 'events', 'ingest.zmq.sockets[socket].storedEvents', 'Events of ZeroMQ messages stored in the spool, by socket.', ZMQ_ON),
  metric('sparkngin_zmq_refused_messages_total', 'counter', 'messages', 'ingest.zmq.refused[socket,status,code].count', 'ZeroMQ messages refused (PULL: dropped; ROUTER: answered with the error), by socket, status and code.', ZMQ_ON),
  metric('sparkngin_zmq_retried_messages_total', 'counter', 'messages', 'ingest.zmq.sockets[socket].retries', 'PULL messages tried again because the spool could not take them then (PULL is not read meanwhile).', ZMQ_ON),
  metric('sparkngin_zmq_unanswered_messages_total', 'counter', 'messages', 'ingest.zmq.sockets[socket].unanswered', 'ROUTER answers libzmq could not hand to the peer (gone, or its queue full); their events were stored.', ZMQ_ON),
  metric('sparkngin_zmq_in_flight_messages', 'gauge', 'messages', 'ingest.zmq.inFlight', 'ZeroMQ messages received and not yet stored and answered (zmq.maxInFlight).', ZMQ_ON),
  metric('sparkngin_zmq_buffered_bytes', 'gauge', 'bytes', 'ingest.zmq.bufferedBytes', 'Bytes of the ZeroMQ messages in flight (zmq.maxBufferedBytes).', ZMQ_ON),
  // The spool
  metric('sparkngin_spool_bytes', 'gauge', 'bytes', 'spool.bytes', 'Bytes in the spool on disk.'),
  metric('sparkngin_spool_max_bytes', 'gauge', 'bytes', 'spool.maxBytes', 'The spool\'s size limit (spool.maxBytes).'),
  metric('sparkngin_spool_segments', 'gauge', 'segments', 'spool.segments', 'Segment files in the spool.'),
  metric('sparkngin_spool_appended_records_total', 'counter', 'records', 'spool.appendedRecords', 'Records appended (acknowledged) since start.'),
  metric('sparkngin_spool_syncs_total', 'counter', 'events', 'spool.syncs', 'fdatasync calls of the spool writer (group commits).'),
  metric('sparkngin_spool_dropped_records_total', 'counter', 'records', 'spool.droppedRecords', 'Undelivered records dropped by the age or size limit.'),
  metric('sparkngin_spool_damaged_stretches_total', 'counter', 'stretches', 'spool.damagedStretches', 'Damaged stretches found and skipped in the spool.'),
  metric('sparkngin_spool_lost_records_total', 'counter', 'records', 'spool.lostRecords', 'Acknowledged records found lost (damaged, deleted or quarantined segments), each counted once.'),
  metric('sparkngin_spool_lost_ranges_total', 'counter', 'ranges', 'spool.lostRanges', 'Ranges of lost records found (each logged as spool.records_lost).'),
  metric('sparkngin_spool_quarantined_segments_total', 'counter', 'segments', 'spool.quarantinedSegments', 'Unreadable segments moved aside to spool/quarantine.'),
  metric('sparkngin_spool_stray_files_total', 'counter', 'files', 'spool.strayFiles', 'Files named like segments that are not, moved aside.'),
  metric('sparkngin_spool_cursor_resets_total', 'counter', 'events', 'spool.cursorResets', 'Sink cursors past the end of the spool or unreadable, reset to redeliver.'),
  metric('sparkngin_spool_full', 'gauge', 'ratio', 'spool.full', '1 while appends are refused for lack of room.'),
  // Sinks, each on a delivery thread of its own
  metric('sparkngin_sink_up', 'gauge', 'ratio', 'sinks[sink].up', '1 unless the sink\'s destination is down (its last send failed, or its delivery loop or thread failed).'),
  metric('sparkngin_sink_state', 'gauge', 'info', 'sinks[sink,state]', 'The delivery state of each sink, 1 for the current one: idle, sending, retrying, failed or stopped.'),
  metric('sparkngin_sink_lag_records', 'gauge', 'records', 'sinks[sink].lagRecords', 'Records spooled but not yet accepted by the sink.'),
  metric('sparkngin_sink_lag_seconds', 'gauge', 'seconds', 'sinks[sink].lagSeconds', 'Age of the oldest record the sink has not had accepted yet (0 when it is caught up).'),
  metric('sparkngin_sink_spool_bytes', 'gauge', 'bytes', 'sinks[sink].spoolBytes', 'Bytes of the spool\'s segments the sink has not passed yet: what it alone would keep on disk.'),
  metric('sparkngin_sink_delivered_records_total', 'counter', 'records', 'sinks[sink].deliveredRecords', 'Records the sink accepted since start.'),
  metric('sparkngin_sink_dead_lettered_records_total', 'counter', 'records', 'sinks[sink].deadLetteredRecords', 'Records the destination refused for good, parked in the dead-letter file.'),
  metric('sparkngin_sink_failed_sends_total', 'counter', 'sends', 'sinks[sink].failedSends', 'Sends that failed and were retried.'),
  metric('sparkngin_sink_loop_restarts_total', 'counter', 'restarts', 'sinks[sink].loopRestarts', 'Restarts of the delivery loop or thread after an unexpected error (a bug in the sink).'),
  metric('sparkngin_sink_thread_restarts_total', 'counter', 'restarts', 'sinks[sink].threadRestarts', 'Restarts of the sink\'s delivery thread after it ended on an uncaught error (also counted in loop restarts).'),
  metric('sparkngin_sink_undecodable_records_total', 'counter', 'records', 'sinks[sink].undecodableRecords', 'Records whose CRC held but that could not be decoded (written by an incompatible version), skipped.'),
  metric('sparkngin_sink_skipped_records_total', 'counter', 'records', 'sinks[sink].skippedRecords', 'Records the sink never got because they were lost in the spool.'),
  metric('sparkngin_sink_cursor_save_failures_total', 'counter', 'events', 'sinks[sink].cursorSaveFailures', 'Failed writes of the sink\'s cursor file (a restart then redelivers from the last one saved).'),
  metric('sparkngin_dead_letter_bytes', 'gauge', 'bytes', 'sinks[sink].deadLetterBytes', 'Bytes of the sink\'s dead-letter files (deadLetter.maxBytes bounds them).'),
  metric('sparkngin_dead_letter_dropped_records_total', 'counter', 'records', 'sinks[sink].deadLetterDroppedRecords', 'Dead letters deleted by deadLetter.maxBytes or deadLetter.maxAgeSeconds (each deletion logged as dead_letter.dropped).'),
  // A destination's own numbers (Sink.counters), under sinks[].destination
  metric('sparkngin_sink_peers', 'gauge', 'connections', 'sinks[sink].destination.peers', 'Peers connected to a ZeroMQ sink\'s socket (PULL workers, subscribers).', 'the sink is a ZeroMQ one'),
  metric('sparkngin_sink_subscriptions', 'gauge', 'connections', 'sinks[sink].destination.subscriptions', 'Subscriptions a ZeroMQ PUB sink holds (each subscriber\'s prefixes).', 'the sink is a ZeroMQ PUB'),
  metric('sparkngin_sink_dropped_messages_total', 'counter', 'events', 'sinks[sink].destination.droppedMessages', 'Messages a ZeroMQ PUB sink dropped because a subscriber\'s queue was at its high-water mark (by design: a tap never holds delivery back).', 'the sink is a ZeroMQ PUB'),
  metric('sparkngin_sink_connections_total', 'counter', 'connections', 'sinks[sink].destination.connections', 'Connections a syslog sink made to its server (TCP or TLS): more than one means it reconnected.', 'the sink is a syslog one'),
  metric('sparkngin_sink_resend_window_bytes', 'gauge', 'bytes', 'sinks[sink].destination.resendWindowBytes', 'Bytes of the latest syslog messages kept to send again after a broken connection (at most resendBytes).', 'the sink is a syslog one'),
  metric('sparkngin_sink_batch_records', 'histogram', 'records', 'sinks[sink].batchRecords', 'Records per send the sink accepted.'),
  metric('sparkngin_sink_send_duration_seconds', 'histogram', 'seconds', 'sinks[sink].sendSeconds', 'Duration of the sends the sink accepted.'),
  // The heartbeat
  metric('sparkngin_heartbeat_sent_total', 'counter', 'heartbeats', 'heartbeat.sent', 'Heartbeat events appended to the spool (heartbeat.enabled), to be delivered like any event.'),
  metric('sparkngin_heartbeat_failures_total', 'counter', 'heartbeats', 'heartbeat.failed', 'Heartbeat events the spool refused (full, or closing).'),
  // Discovery
  metric('sparkngin_discovery_interfaces', 'gauge', 'interfaces', 'discovery.interfaces', 'Network interfaces the instance is advertised on over mDNS (0: not advertised).'),
];

/** The `[a,b]` label lists of a path, in order. */
function labelsOf(stat: string): string[] {
  return [...stat.matchAll(/\[([^\]]*)\]/g)].flatMap((match) => match[1]!.split(',').filter(Boolean));
}

export const METRICS: readonly Metric[] = DEFINITIONS.map((definition) => ({
  ...definition,
  labels: labelsOf(definition.stat),
  group: definition.stat.startsWith('[') ? 'daemon' : definition.stat.split(/[.[]/)[0]!,
}));

export interface LogEventDefinition {
  /** The `event` field of the JSON line. */
  event: string;
  /** The most severe level it is logged at. */
  level: LogLevel;
  help: string;
  /** A metric that counts it besides sparkngin_log_events_total (which counts every warn and error line). */
  metric?: string;
}

const event = (name: string, level: LogLevel, help: string, counted?: string): LogEventDefinition => ({
  event: name,
  level,
  help,
  ...(counted === undefined ? {} : { metric: counted }),
});

/** Every log event the daemon writes, by component. */
export const LOG_EVENTS: readonly LogEventDefinition[] = [
  // The daemon and its command line
  event('daemon.started', 'info', 'Listening, every sink started: address, port, TLS, auth, sinks.'),
  event('daemon.stopping', 'info', 'A graceful stop began (signal received).'),
  event('daemon.stopped', 'info', 'Stopped: what was spooled and each sink\'s lag.'),
  event('daemon.stop_failed', 'error', 'The graceful stop failed; the process exits anyway.'),
  event('daemon.signal', 'info', 'A signal was received (SIGTERM, SIGINT, SIGHUP).'),
  event('daemon.forced_exit', 'warn', 'A second stop signal: exit at once.'),
  event('daemon.reload', 'info', 'SIGHUP with nothing to reload (TLS off).'),
  event('daemon.data_dir_unlocked', 'warn', 'The data-dir lock could not be released cleanly at stop.'),
  event('config.unknown_env', 'warn', 'A SPARKNGIN_* environment variable names no setting (the nearest one is named).'),
  // Ingest and TLS
  event('ingest.refused', 'debug', 'A request was answered with an error (counted in sparkngin_ingest_refused_requests_total).', 'sparkngin_ingest_refused_requests_total'),
  event('ingest.internal_error', 'error', 'A request failed on an unexpected error (answered 500).', 'sparkngin_ingest_refused_requests_total'),
  event('ingest.sink_refused', 'warn', 'An ack=sink request failed because a sink parked one of its events (502).', 'sparkngin_ingest_refused_requests_total'),
  event('ingest.thread_died', 'error', 'A thread serving the events port ended (http.threads above 1); the daemon stops and exits 1, for systemd to start it again.'),
  event('ingest.accept_failed', 'error', 'The listener could not accept a connection (EMFILE, ENFILE); at most once a second.'),
  event('ingest.connection_limit_lowered', 'warn', 'http.maxConnections was lowered to fit the descriptor limit.'),
  event('ingest.tls_handshake_failed', 'debug', 'A TLS handshake failed (counted as refusal TLS_HANDSHAKE_FAILED).', 'sparkngin_ingest_refused_requests_total'),
  event('tracker.needs_credential', 'warn', 'The tracking pixel cannot answer: auth is on and its topic is not open.'),
  event('tls.loaded', 'info', 'The certificate served, at start.', 'sparkngin_tls_certificate_expiry_timestamp_seconds'),
  event('tls.reloaded', 'info', 'SIGHUP swapped the certificate.', 'sparkngin_tls_certificate_expiry_timestamp_seconds'),
  event('tls.reload_failed', 'error', 'SIGHUP: the new certificate files cannot be used; the old certificate is kept.'),
  event('tls.certificate_expiring', 'warn', 'The certificate served expires within 30 days.', 'sparkngin_tls_certificate_expiry_timestamp_seconds'),
  event('zmq.unauthenticated', 'warn', 'ZeroMQ ingest runs without CURVE (at info when every endpoint is loopback or ipc).'),
  event('zmq.client_denied', 'warn', 'A CURVE client whose key is not in zmq.curveClients was turned away.'),
  event('zmq.receive_failed', 'error', 'Reading a ZeroMQ socket failed; tried again.'),
  event('zmq.refused', 'debug', 'A ZeroMQ message was refused (counted in sparkngin_zmq_refused_messages_total).', 'sparkngin_zmq_refused_messages_total'),
  event('zmq.unanswered', 'debug', 'A ROUTER answer could not be handed over (its events were stored).', 'sparkngin_zmq_unanswered_messages_total'),
  // The spool
  event('spool.opened', 'info', 'The spool is open: segments, range of records, recovery done.'),
  event('spool.torn_tail_truncated', 'warn', 'A crash left a partial record at the end of the newest segment; cut off.'),
  event('spool.damage_found', 'error', 'A stretch of a segment is not intact records; skipped.', 'sparkngin_spool_damaged_stretches_total'),
  event('spool.records_lost', 'error', 'Acknowledged records are gone (damaged, missing or quarantined), with their range.', 'sparkngin_spool_lost_records_total'),
  event('spool.records_skipped', 'error', 'A further sink met records already counted lost.', 'sparkngin_sink_skipped_records_total'),
  event('spool.segment_quarantined', 'error', 'An unreadable segment was moved to spool/quarantine.', 'sparkngin_spool_quarantined_segments_total'),
  event('spool.segment_missing', 'error', 'A segment was deleted from outside while the daemon ran.', 'sparkngin_spool_lost_records_total'),
  event('spool.stray_file', 'warn', 'A file in segments/ that is not a segment was moved aside.', 'sparkngin_spool_stray_files_total'),
  event('spool.leftover_removed', 'info', 'An empty or already-deleted segment file a crash left was removed.'),
  event('spool.manifest_unusable', 'warn', 'The manifest could not be read; the spool is read from its segments.'),
  event('spool.manifest_save_failed', 'error', 'The manifest could not be written (retried at the next change).'),
  event('spool.cursor_reset', 'error', 'A sink cursor could not be right; the sink is redelivered everything spooled.', 'sparkngin_spool_cursor_resets_total'),
  event('spool.cursor_behind_spool', 'warn', 'A sink cursor was below the oldest record (deleted while the sink was not configured).'),
  event('spool.cursor_save_failed', 'error', 'A sink cursor could not be written.', 'sparkngin_sink_cursor_save_failures_total'),
  event('spool.segment_dropped', 'warn', 'The age or size limit dropped a segment, with the undelivered records in it.', 'sparkngin_spool_dropped_records_total'),
  event('spool.delete_failed', 'error', 'A delivered segment could not be deleted.'),
  event('spool.disk_full', 'error', 'The disk is full: appends are refused (503) until there is room.', 'sparkngin_spool_full'),
  event('spool.write_failed', 'error', 'A write to the spool failed; cut back, the requests in it refused.'),
  event('spool.truncate_failed', 'error', 'A failed write could not be cut back.'),
  event('spool.roll_failed', 'error', 'A new segment could not be started.'),
  event('spool.read_retry', 'warn', 'A passing shortage (EMFILE, ENOMEM) while reading; retried.'),
  // Sinks and their delivery threads
  event('sink.send_failed', 'warn', 'A send failed and will be retried (warn the first time, debug after).', 'sparkngin_sink_failed_sends_total'),
  event('sink.recovered', 'info', 'A sink delivered again after failed sends.'),
  event('sink.probe_succeeded', 'info', 'The destination answered a probe during a backoff; the wait ends.'),
  event('sink.dead_lettered', 'error', 'A record the destination refused for good was parked in the dead-letter file.', 'sparkngin_sink_dead_lettered_records_total'),
  event('sink.loop_failed', 'error', 'The delivery loop failed on an unexpected error (a bug); restarted with backoff.', 'sparkngin_sink_loop_restarts_total'),
  event('sink.thread_failed', 'error', 'A delivery thread ended on an uncaught error; restarted with backoff.', 'sparkngin_sink_thread_restarts_total'),
  event('dead_letter.dropped', 'warn', 'Dead letters deleted by the size cap or the age limit, with how many.', 'sparkngin_dead_letter_dropped_records_total'),
  event('dead_letter.sweep_failed', 'error', 'The dead-letter files could not be checked against their age limit (tried again in a minute).'),
  event('dead_letter.torn_tail_cut', 'warn', 'A crash left part of a line at the end of a dead-letter file; cut off (its record is parked again).'),
  event('dispatcher.undecodable_record', 'error', 'A record could not be decoded (incompatible version); skipped.', 'sparkngin_sink_undecodable_records_total'),
  event('file_sink.legacy_name_migrated', 'info', 'A file an earlier version named differently was renamed.'),
  event('file_sink.legacy_name_kept', 'error', 'A file an earlier version named differently could not be renamed.'),
  event('file_sink.torn_tail_cut', 'warn', 'A crash left part of a line at the end of a topic file; cut off (its records are written again).'),
  event('syslog.resending', 'info', 'A syslog sink connected again and sends the latest messages again first (those the broken connection may have lost).', 'sparkngin_sink_connections_total'),
  event('zeromq.subscriptions_unread', 'warn', 'A ZeroMQ PUB sink could no longer read subscriptions (its socket failed).'),
  event('flume.send_failed', 'debug', 'A batch to Flume failed (the dispatcher retries it; sink.send_failed says so at warn).', 'sparkngin_sink_failed_sends_total'),
  event('kafkajs', 'debug', 'A line of the Kafka client library, at debug.'),
  event('kafka.unacknowledged', 'error', 'The broker answered a produce request without acknowledging every partition sent (a client bug caught before it lost anything); the batch is sent again.', 'sparkngin_sink_failed_sends_total'),
  // The heartbeat
  event('heartbeat.failed', 'warn', 'A heartbeat could not be appended (the spool is full or closing).', 'sparkngin_heartbeat_failures_total'),
  // Discovery
  event('discovery.off', 'info', 'Not advertised, and why.'),
  event('discovery.advertised', 'info', 'Advertised: name, interfaces, addresses.', 'sparkngin_discovery_interfaces'),
  event('discovery.failed', 'warn', 'Advertising failed; the daemon goes on without it.'),
  event('discovery.renamed', 'warn', 'A name conflict on the LAN: advertised under another name.'),
  event('discovery.name-taken', 'info', 'A name was found taken while probing.'),
  event('discovery.no-free-name', 'warn', 'No free name was found (100 tried).'),
  event('discovery.no-interface', 'info', 'No interface to advertise on yet.', 'sparkngin_discovery_interfaces'),
  event('discovery.interface-gone', 'info', 'An interface went away; no longer advertised there.', 'sparkngin_discovery_interfaces'),
  event('discovery.addresses-changed', 'info', 'An interface\'s addresses changed; announced again.'),
  event('discovery.send-failed', 'warn', 'An mDNS packet could not be sent.'),
  event('discovery.socket-failed', 'warn', 'An mDNS socket failed.'),
  event('discovery.socket-warning', 'debug', 'An mDNS socket warned.'),
  event('discovery.bad-packet', 'warn', 'An mDNS packet tripped the conflict check; ignored.'),
  event('discovery.conflict-won', 'debug', 'Another host claimed our name and lost the tie-break.'),
  // Ganglia (ganglia.hosts)
  event('ganglia.publishing', 'info', 'Metrics go to gmond: the destinations and the interval.'),
  event('ganglia.send_failed', 'warn', 'Datagrams to a gmond could not be sent (once, until it works again).'),
  event('ganglia.send_recovered', 'info', 'Sending to a gmond works again.'),
  event('ganglia.socket_error', 'warn', 'The UDP socket to gmond failed.'),
  event('ganglia.round_failed', 'error', 'A round of metrics could not be made or sent (a bug); the next round runs as usual.'),
  // `sparkngin agent`, a process of its own that watches a fleet (these are its lines, not a daemon's)
  event('agent.started', 'info', 'The agent serves its fleet view: the address, how many instances are listed, discovery, Kafka.'),
  event('agent.stopped', 'info', 'The agent stopped (SIGTERM, SIGINT).'),
  event('agent.finding_raised', 'warn', 'An instance was flagged: unreachable, heartbeat-late, sink-down or lag-growing, with the reason.'),
  event('agent.finding_cleared', 'info', 'A finding no longer holds.'),
  event('agent.discovery_problem', 'warn', 'An mDNS socket of the agent failed; discovery goes on with the others.'),
  event('agent.heartbeats_unread', 'warn', 'The heartbeat topic cannot be read (Kafka away, or the topic not made yet); tried again every 5 s, polling goes on meanwhile.'),
  event('agent.findings_unsent', 'warn', 'Findings could not be sent to agent.eventsUrl; they wait for the next try.'),
  event('agent.findings_dropped', 'error', 'More findings waited for agent.eventsUrl than the agent holds (1000): the oldest were dropped.'),
];

/** The log level names at which lines are counted in sparkngin_log_events_total. */
export const COUNTED_LEVELS: ReadonlySet<LogLevel> = new Set(['warn', 'error']);
