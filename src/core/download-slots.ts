// How many report downloads one API process streams at once
// (load.maxConcurrentDownloads): each holds its stream buffers, a compressed
// page spool (load.reportSpoolMiB) and, while drawing, a result's kept JSON
// (load.reportParseMiB), so past the limit a download is refused (TooBusy,
// with when to try again) rather than letting the process grow.
import { TooBusy } from './errors.js';

/** Seconds a refused download is told to wait. */
export const DOWNLOAD_RETRY_AFTER_SECONDS = 5;

export class DownloadSlots {
  private inUse = 0;

  constructor(readonly limit: number) {}

  get active(): number {
    return this.inUse;
  }

  /** Takes a slot or refuses; the returned release may be called more than once. */
  take(): () => void {
    if (this.inUse >= this.limit) {
      throw new TooBusy(
        'too_many_downloads',
        `${this.inUse} report downloads are streaming from this server, the most it serves at once (load.maxConcurrentDownloads = ${this.limit}); try again in a few seconds`,
        DOWNLOAD_RETRY_AFTER_SECONDS,
        { active: this.inUse, limit: this.limit },
      );
    }
    this.inUse++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse--;
    };
  }
}
