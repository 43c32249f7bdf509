import { pino, type Logger } from 'pino';
import { logLevel, type logCreator } from 'kafkajs';

export function createLogger(opts: { level: string; pretty: boolean; name: string }): Logger {
  return pino({
    name: opts.name,
    level: opts.level,
    ...(opts.pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}

/** kafkajs log lines through pino. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      if (level === logLevel.ERROR) child.error(extra, message);
      else if (level === logLevel.WARN) child.warn(extra, message);
      else if (level === logLevel.INFO) child.info(extra, message);
      else child.debug(extra, message);
    };
}
