import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      "packages/*/vitest.config.ts",
      "packages/sdk/test/package/vitest.config.ts",
      "packages/sdk/test/browser/vitest.config.ts"
    ]
  }
})
