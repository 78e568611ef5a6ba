/**
 * The code blocks of a README, as `readme.test.ts` checks them: each block with the file and line it
 * starts on, the `##` section it is in, and the `<!-- snippet: … -->` marker on the line before it.
 * The marker's grammar is described at the top of `readme.test.ts`.
 */

/** A fenced code block. */
export interface CodeBlock {
  /** The README, relative to the repository. */
  readonly file: string
  /** The line of the opening fence (1-based). */
  readonly line: number
  /** The fence's language: `ts`, `sh`, `json`, … */
  readonly lang: string
  readonly code: string
  /** The title of the `##` section the block is in. */
  readonly section: string
  /** The text of the `<!-- snippet: … -->` comment on the line before the fence, if any. */
  readonly marker: string | undefined
}

/** What a marker says about a TypeScript block. */
export interface Snippet {
  readonly block: CodeBlock
  /** `README.md:52`. */
  readonly where: string
  readonly mode: "run" | "check" | "skip"
  /** This block's name, for `uses`. */
  readonly part: string | undefined
  /** The part whose code goes before this block's. */
  readonly uses: string | undefined
  /** Code before everything else: stubs of what the reader is expected to write. */
  readonly prelude: string | undefined
  /** Code after the block: drives what the block only configures. */
  readonly then: string | undefined
  /** One literal substitution, `from=>to`; `$TMP` in `to` is a fresh temp folder. */
  readonly replace: readonly [from: string, to: string] | undefined
  /** The messages that must arrive when it runs. */
  readonly expect: { readonly count: number; readonly event: string } | undefined
  readonly reason: string | undefined
}

const fence = /^```(\S*)\s*$/
const markerComment = /^<!--\s*snippet:(.*?)-->\s*$/
const attributeNames = ["part", "uses", "prelude", "then", "replace", "expect", "reason"] as const

/** Every fenced code block of a markdown text. */
export const codeBlocks = (file: string, text: string): ReadonlyArray<CodeBlock> => {
  const lines = text.split("\n")
  const blocks: Array<CodeBlock> = []
  let section = ""
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (.*)$/.exec(lines[i]!)
    if (heading !== null) section = heading[1]!.trim()
    const open = fence.exec(lines[i]!)
    if (open === null) continue
    const end = lines.findIndex((line, j) => j > i && line.trimEnd() === "```")
    if (end === -1) throw new Error(`${file}:${i + 1}: a code block is not closed`)
    blocks.push({
      file,
      line: i + 1,
      lang: open[1]!,
      code: lines.slice(i + 1, end).join("\n"),
      section,
      marker: markerComment.exec(lines[i - 1] ?? "")?.[1]?.trim()
    })
    i = end
  }
  return blocks
}

/** The first `sh` block of the `## Install` section, if the README has one. */
export const installBlock = (blocks: ReadonlyArray<CodeBlock>): CodeBlock | undefined =>
  blocks.find((block) => block.section === "Install" && block.lang === "sh")

const tokens = /(\w+)(?:=(?:"([^"]*)"|(\S+)))?/g

/** Reads a TypeScript block's marker; throws naming the block when it has none or a bad one. */
export const snippet = (block: CodeBlock): Snippet => {
  const where = `${block.file}:${block.line}`
  if (block.marker === undefined) {
    throw new Error(`${where}: a TypeScript block without a <!-- snippet: run|check|skip … --> marker`)
  }
  const [first, ...rest] = [...block.marker.matchAll(tokens)]
  const mode = first?.[0]
  if (mode !== "run" && mode !== "check" && mode !== "skip") {
    throw new Error(`${where}: the marker must start with run, check or skip, not ${JSON.stringify(mode)}`)
  }
  const attributes: Partial<Record<(typeof attributeNames)[number], string>> = {}
  for (const [text, name, quoted, bare] of rest) {
    const value = quoted ?? bare
    if (!(attributeNames as ReadonlyArray<string>).includes(name!) || value === undefined) {
      throw new Error(`${where}: unknown marker attribute ${JSON.stringify(text)}`)
    }
    attributes[name as (typeof attributeNames)[number]] = value
  }
  if (mode === "skip" && attributes.reason === undefined) throw new Error(`${where}: skip needs a reason="…"`)
  const replace = attributes.replace?.split("=>")
  if (replace !== undefined && replace.length !== 2) throw new Error(`${where}: replace="from=>to"`)
  const expect = attributes.expect === undefined ? undefined : /^(\d+) (\w+)$/.exec(attributes.expect)
  if (expect === null) throw new Error(`${where}: expect="COUNT EVENT_NAME"`)
  return {
    block,
    where,
    mode,
    part: attributes.part,
    uses: attributes.uses,
    prelude: attributes.prelude,
    then: attributes.then,
    replace: replace === undefined ? undefined : [replace[0]!, replace[1]!],
    expect: expect === undefined ? undefined : { count: Number(expect[1]), event: expect[2]! },
    reason: attributes.reason
  }
}

/** A snippet's program, and where each of its lines comes from (for the compiler's errors). */
export interface Program {
  readonly code: string
  /** `README.md:57` for each line of `code`. */
  readonly origins: ReadonlyArray<string>
}

/**
 * The program checked and run for a snippet: its prelude, the part it uses, its code and its `then`,
 * with its substitution made (`$TMP` being `tmp`).
 */
export const program = (snippet: Snippet, parts: ReadonlyMap<string, Snippet>, tmp: string): Program => {
  const used = snippet.uses === undefined ? undefined : parts.get(snippet.uses)
  if (snippet.uses !== undefined && used === undefined) {
    throw new Error(`${snippet.where}: uses=${snippet.uses}, but no block is part=${snippet.uses}`)
  }
  const marker = `${snippet.block.file}:${snippet.block.line - 1} (the marker)`
  const segments: Array<readonly [string | undefined, (i: number) => string]> = [
    [snippet.prelude, () => marker],
    [used?.block.code, (i) => `${used!.block.file}:${used!.block.line + 1 + i}`],
    [snippet.block.code, (i) => `${snippet.block.file}:${snippet.block.line + 1 + i}`],
    [snippet.then, () => marker]
  ]
  const lines: Array<string> = []
  const origins: Array<string> = []
  for (const [code, origin] of segments) {
    if (code === undefined) continue
    code.split("\n").forEach((line, i) => {
      lines.push(line)
      origins.push(origin(i))
    })
  }
  const code = lines.join("\n")
  const [from, to] = snippet.replace ?? []
  return {
    code: from === undefined ? code : code.replaceAll(from, to!.replaceAll("$TMP", tmp)),
    origins
  }
}
