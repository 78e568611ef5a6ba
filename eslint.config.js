import effectPlugin from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/docs/api/**", "**/.tmp/**"] },
  ...tseslint.configs.recommended,
  {
    plugins: { "@effect": effectPlugin },
    rules: {
      // The formatter: one style for the whole tree, as the Effect repository uses.
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }]
    }
  },
  {
    // esbuild keeps every export of a namespace re-exported by a barrel (`export * as Schema` in
    // effect's index) once one member is used, and Schema alone then brings crypto, Cron and http:
    // the SDK imports each effect module by its own path so a page's bundle carries only what it uses.
    files: ["packages/sdk/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: ["effect", "effect/http"].map((name) => ({
          name,
          message: "import the module by its path (import * as Schema from \"effect/Schema\"): see eslint.config.js"
        }))
      }]
    }
  }
)
