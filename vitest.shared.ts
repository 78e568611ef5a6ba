import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))

/** Settings every workspace project shares: workspace packages resolve to their sources. */
export const shared: ViteUserConfig = {
  resolve: {
    alias: {
      "@stellanow/sdk/browser": path.join(root, "packages/sdk/src/browser.ts"),
      "@stellanow/sdk/testing": path.join(root, "packages/sdk/src/testing.ts"),
      "@stellanow/sdk/internal": path.join(root, "packages/sdk/src/internalApi.ts"),
      "@stellanow/sdk-sql": path.join(root, "packages/sql/src/index.ts"),
      "@stellanow/sdk": path.join(root, "packages/sdk/src/index.ts")
    }
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fakeTimers: { toFake: [] }
  }
}
