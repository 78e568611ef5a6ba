import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../../../vitest.shared.js"

/**
 * The browser tests: headless Chromium (the machine's, over the DevTools protocol) running bundled
 * test pages against real brokers. A project of its own, so they run alone with `--project browser`;
 * without Chromium they are skipped, saying so, except under CI (`CI=true`), where they fail.
 */
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "browser",
      include: ["*.test.ts"]
    }
  })
)
