// Tests that start a JVM need a JDK on this host: java to run it, javac to
// compile its program, jcmd for Sherlock to ask it for its perf map.
import { onPath } from '../../src/util/on-path.js';

/** Why a JVM test cannot run here, or undefined when it can. */
export const jdkSkipReason = (): string | undefined =>
  ['java', 'javac', 'jcmd'].every((tool) => onPath(tool)) ? undefined : 'no JDK here (java, javac, jcmd)';
