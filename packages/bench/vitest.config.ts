import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../vitest.shared.js"

/** The bench's own logic only (its report); the benchmarks themselves never run as tests. */
export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "bench",
      include: ["test/**/*.test.ts"]
    }
  })
)
