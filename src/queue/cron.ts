// Cron patterns as BullMQ reads them (cron-parser, 5 or 6 fields, seconds
// first when 6), checked before a scheduler is stored, so a bad pattern is
// refused saying why instead of a scheduler that never fires.
import { CronExpressionParser } from 'cron-parser';
import { Invalid } from '../model/errors.js';

/** The next fire time of `pattern` in `timezone`; Invalid naming the problem. */
export function checkCron(pattern: string, timezone?: string): Date {
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      throw new Invalid('invalid_timezone', `timezone '${timezone}' is not an IANA time zone (e.g. UTC, Europe/Paris)`);
    }
  }
  const fields = pattern.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) {
    throw new Invalid('invalid_cron', `cron '${pattern}' is invalid: it has ${fields} field(s); write 5 (minute hour day month weekday) or 6 (seconds first)`);
  }
  try {
    return CronExpressionParser.parse(pattern, { ...(timezone ? { tz: timezone } : {}), currentDate: new Date() }).next().toDate();
  } catch (err) {
    throw new Invalid('invalid_cron', `cron '${pattern}' is invalid: ${(err as Error).message}`);
  }
}
