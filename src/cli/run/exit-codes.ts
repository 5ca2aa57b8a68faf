// `sherlock run`'s exit codes, as its --help documents them.
export const EXIT_CLEAN = 0; // ran; no finding above info
export const EXIT_FINDINGS = 1; // findings above info
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 3; // the API refused or was away, the run failed/partial/cancelled, no bundle
export const EXIT_INTERRUPTED = 130; // left with a second Ctrl-C
export const EXIT_TERMINATED = 143;

/** What a finished run's outcome means for the exit code: findings win, then failures, else clean. */
export function runExitCode(findingsAboveInfo: boolean, failed: boolean): number {
  if (findingsAboveInfo) return EXIT_FINDINGS;
  return failed ? EXIT_FAILURE : EXIT_CLEAN;
}
