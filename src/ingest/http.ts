// The daemon imported the ingest from here before it was split into small modules; kept so that it
// still does. New code imports './server'.
export { createIngestServer, type IngestServerOptions } from './server';
