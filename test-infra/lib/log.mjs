// Progress lines: one per step, with the time since the command started.
import { readFileSync } from 'node:fs';

const started = Date.now();

export function elapsedSeconds() {
  return (Date.now() - started) / 1000;
}

function stamp() {
  return `[infra ${elapsedSeconds().toFixed(1).padStart(5)}s]`;
}

export function step(service, message) {
  process.stdout.write(`${stamp()} ${service.padEnd(6)} ${message}\n`);
}

export function warn(service, message) {
  process.stderr.write(`${stamp()} ${service.padEnd(6)} WARNING: ${message}\n`);
}

/** The last `count` lines of a log file, or a note that there is none. */
export function tail(file, count = 20) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return `(no log at ${file})`;
  }
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-count).join('\n') || '(log is empty)';
}

/** An error whose message already says which service, where, and what its log ends with. */
export class InfraError extends Error {
  constructor(service, message, { log, port } = {}) {
    const where = port ? ` (127.0.0.1:${port})` : '';
    let text = `${service}${where}: ${message}`;
    if (log) text += `\n--- last 20 lines of ${log} ---\n${tail(log)}\n--- end of log ---`;
    super(text);
    this.name = 'InfraError';
    this.service = service;
  }
}
