import { configDefaults, defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "sdk",
      include: ["test/**/*.test.ts"],
      // The packed-package tests are the `package` project (test/package/vitest.config.ts), the browser
      // tests the `browser` project (test/browser/vitest.config.ts).
      exclude: [...configDefaults.exclude, "test/package/**", "test/browser/**"]
    }
  })
)
