// The project logger: one line per record on stderr, so stdout stays free for
// results (tables, --json). SHERLOCK_LOG sets the level; SHERLOCK_LOG_FORMAT=json
// switches to JSON lines for log shippers.
import { createRedactor } from '../redact/redactor.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

const ranks: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export type LogSink = (level: LogLevel, msg: string, fields: LogFields) => void;

function parseLevel(value: string | undefined): LogLevel {
  return value && value in ranks ? (value as LogLevel) : 'warn';
}

const state = {
  level: parseLevel(process.env.SHERLOCK_LOG),
  sink: defaultSink as LogSink,
};

function defaultSink(level: LogLevel, msg: string, fields: LogFields): void {
  if (process.env.SHERLOCK_LOG_FORMAT === 'json') {
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n');
    return;
  }
  const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  process.stderr.write(`${level}: ${msg}${extra.length ? ' ' + extra.join(' ') : ''}\n`);
}

/** Replace where log records go (tests capture them; servers may ship them). */
export function setLogSink(sink: LogSink | undefined): void {
  state.sink = sink ?? defaultSink;
}

export function setLogLevel(level: LogLevel): void {
  state.level = level;
}

export function createLogger(bindings: LogFields = {}): Logger {
  const emit =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (ranks[level] >= ranks[state.level]) state.sink(level, redactLogText(msg), redactLogFields({ ...bindings, ...fields }));
    };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (more) => createLogger({ ...bindings, ...more }),
  };
}

export const logger = createLogger();

// Error messages may quote a command line or a URL: logs get the same redaction as results.
const logRedactor = createRedactor();
const redactLogText = (text: string) => logRedactor.text(text);
function redactLogFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      typeof value === 'string'
        ? redactLogText(value)
        : value && typeof value === 'object'
          ? JSON.parse(redactLogText(JSON.stringify(value)) || 'null')
          : value;
  }
  return out;
}
