// tcplife's checks: Connections feed the runbook rules; alone they only count as checked.
import { num, objs, str, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import { plural } from '../../format/index.js';
import { connectHit, type ConnectHit } from '../../analysis/rule-events.js';

function analyzeTcplife(data: Obj): CaptureAnalysis {
  return { findings: [], checked: `TCP connections (${plural(objs(data.events).length, 'connection')} closed)` };
}

/** tcplife's connects: every active connection that ended in the window. */
export function tcplifeConnects(data: Obj): ConnectHit[] {
  return objs(data.events)
    .filter((e) => e.direction === 'active' && str(e.remote))
    .map((e) => connectHit(str(e.remote), str(e.comm), num(e.pid), 1, 'tcplife'));
}

export const tcplifeAnalysis = { checks: 'TCP connections', analyze: analyzeTcplife };
