// What a run or capture looks at, as asked (pid, comm, cgroup, systemd unit,
// TCP port, uid, container, pod): a value type requests, plans and captures share.
// src/captures/target.ts resolves it on a node.
import { z } from 'zod';
import { MAX_TGIDS, TASK_COMM_MAX, UNIT_NAME, UNIT_RULE } from './target-rules.js';

export { MAX_TGIDS };

export const targetSchema = z
  .object({
    pid: z.array(z.number().int().positive()).min(1).max(MAX_TGIDS).optional(),
    comm: z.string().min(1).max(TASK_COMM_MAX, `comm is at most ${TASK_COMM_MAX} characters (the kernel's TASK_COMM_LEN)`).optional(),
    cgroup: z.string().min(1).optional(),
    unit: z.string().regex(UNIT_NAME, UNIT_RULE).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    uid: z.number().int().min(0).max(0xfffffffe).optional(),
    container: z
      .string()
      .regex(/^[0-9a-fA-F]{12,64}$/, 'container is a container id (12 to 64 hex digits, as `docker ps` or `crictl ps` show it)')
      .optional(),
    pod: z
      .string()
      .regex(
        /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
        'pod is a Kubernetes pod UID like 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
      )
      .optional(),
  })
  .strict();

export type TargetSpec = z.infer<typeof targetSchema>;
