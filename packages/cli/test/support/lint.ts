import { ESLint } from "eslint"
import * as path from "node:path"
import ts from "typescript"
import { repoRoot } from "./paths.js"

/**
 * The repository's ESLint (with its dprint formatting rule) over directories, even git-ignored ones:
 * every problem as `file:line:column rule message`.
 */
export const lint = async (dirs: ReadonlyArray<string>): Promise<Array<string>> => {
  const eslint = new ESLint({ cwd: repoRoot, ignore: false })
  const results = await eslint.lintFiles([...dirs])
  return results.flatMap((result) =>
    result.messages.map((message) =>
      `${
        path.relative(repoRoot, result.filePath)
      }:${message.line}:${message.column} ${message.ruleId} ${message.message}`
    )
  )
}

/**
 * The TypeScript compiler with the repository's settings (root `tsconfig.json`: strict,
 * `exactOptionalPropertyTypes`, NodeNext, `@stellanow/sdk` mapped to its sources) over some files: the
 * diagnostics of the files under `dir`, formatted.
 */
export const typeCheck = (files: ReadonlyArray<string>, dir: string): Array<string> => {
  const configPath = path.join(repoRoot, "tsconfig.json")
  const config = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file))
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, repoRoot)
  const program = ts.createProgram({ rootNames: [...files], options: { ...parsed.options, noEmit: true } })
  const inside = path.resolve(dir) + path.sep
  // Only the files under `dir` are checked (the SDK's own sources are the SDK's tests' business).
  const checked = program.getSourceFiles().filter((file) => path.resolve(file.fileName).startsWith(inside))
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
  ]
    .map((diagnostic) => {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
      if (diagnostic.file === undefined || diagnostic.start === undefined) return text
      const { character, line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
      return `${path.relative(dir, diagnostic.file.fileName)}:${line + 1}:${character + 1} ${text}`
    })
}
