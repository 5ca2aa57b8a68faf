// Ids of the queue's jobs, apart from the flow producer (run-flow.ts), so a
// worker that only needs an id does not load bullmq's producer side.

/** The id of a run's job on one node (the cancel and stop messages find the running job by it). */
export const nodeJobId = (runId: string, node: string) => `${runId}.${node}`;
