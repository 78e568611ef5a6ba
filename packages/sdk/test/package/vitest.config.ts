import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../../../vitest.shared.js"

/**
 * The packed packages, as a user installs them: a project of its own so that packing (in
 * `globalSetup.ts`, once) happens only when one of these tests runs.
 */
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "package",
      include: ["*.test.ts"],
      globalSetup: ["./globalSetup.ts"]
    }
  })
)
