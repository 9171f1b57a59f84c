/**
 * Imported first by the CLI: a small young generation. V8's default lets it grow to 16 MiB semi-spaces, which
 * a run allocating many short-lived objects (200,000 small files) fills before scavenging: peak RSS 324 MiB
 * against 251 MiB with 4 MiB, at the same speed (measured here). Set before anything is allocated in bulk.
 */
import v8 from 'node:v8';

v8.setFlagsFromString('--max-semi-space-size=4');
