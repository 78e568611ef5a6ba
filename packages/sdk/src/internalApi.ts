/**
 * `@stellanow/sdk/internal`: what the workspace's other packages share with the SDK, exactly that and
 * nothing more. It is not public API (CHANGELOG.md, "What is not public API"): it exists so that
 * `@stellanow/sdk-sql` uses the SDK's code instead of a copy. It may change in any minor release;
 * within one it only grows, so that an `@stellanow/sdk-sql` of the same minor version keeps working.
 *
 * @internal
 */

/** The in-memory bookkeeping of a queue's messages (the SQLite queue's index). */
export { LeaseIndex } from "./internal/leaseIndex.js"
