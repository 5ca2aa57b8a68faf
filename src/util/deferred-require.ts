// A CommonJS dependency of a dependency loaded on first use instead of when its
// parent loads: the parent's `require(name)` gets an object that loads the real
// module the first time one of its properties is read. For a parent that only
// reads properties of it when called (no `__esModule` check or destructuring at
// load), e.g. bullmq's job scheduler, which needs cron-parser (and luxon, ~1.7
// MiB of an idle worker) only to compute a cron schedule's next time.
import { createRequire, Module } from 'node:module';

/** From now on, `require(name)` inside `parentFile` (a resolved path) returns the deferred module; once, before the parent loads. */
export function deferRequire(parentFile: string, name: string): void {
  const require = createRequire(parentFile);
  const path = require.resolve(name);
  if (require.cache[path]) return; // already loaded: nothing to save
  let real: Record<PropertyKey, unknown> | undefined;
  const load = () => {
    if (!real) {
      delete require.cache[path];
      real = require(path) as Record<PropertyKey, unknown>;
    }
    return real;
  };
  const stand = new Module(path);
  stand.filename = path;
  stand.loaded = true;
  stand.exports = new Proxy(
    {},
    {
      get: (_target, key) => load()[key],
      has: (_target, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
        return descriptor && { ...descriptor, configurable: true };
      },
    },
  );
  require.cache[path] = stand;
}
