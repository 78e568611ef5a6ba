/**
 * Lays generated code out as the repository's formatter (dprint: 2 spaces, 120 columns, double quotes,
 * no semicolons, no trailing commas) would, so that generated files pass the lint untouched. Only the
 * few shapes the generator writes are handled.
 */

const lineWidth = 120

const width = (line: string): number => [...line].length

const fits = (line: string): boolean => width(line) <= lineWidth

const pad = (indent: number): string => " ".repeat(indent)

/** A property's value: an expression written as it is, or `Field.optional(inner)`. */
export type Value =
  | { readonly _tag: "Plain"; readonly text: string }
  | { readonly _tag: "Optional"; readonly inner: string }

/** `callee(argument)` at an indent, the argument on its own line when the whole does not fit. */
const call = (indent: number, callee: string, argument: string, end: string): Array<string> => {
  const p = pad(indent)
  const line = `${p}${callee}(${argument})${end}`
  return fits(line) ? [line] : [`${p}${callee}(`, `${p}  ${argument}`, `${p})${end}`]
}

/** `key: value` at an indent, broken where dprint breaks it when it is too long. */
export const property = (indent: number, key: string, value: Value, comma: boolean): Array<string> => {
  const p = pad(indent)
  const c = comma ? "," : ""
  if (value._tag === "Plain") {
    const line = `${p}${key}: ${value.text}${c}`
    // A one-character key gains nothing from a break: dprint leaves it.
    return fits(line) || width(key) <= 1 ? [line] : [`${p}${key}:`, `${p}  ${value.text}${c}`]
  }
  const line = `${p}${key}: Field.optional(${value.inner})${c}`
  if (fits(line)) return [line]
  if (fits(`${p}${key}: Field.optional(`)) return call(indent, `${key}: Field.optional`, value.inner, c)
  if (fits(`${p}${key}: Field`)) return [`${p}${key}: Field`, ...call(indent + 2, ".optional", value.inner, c)]
  return [`${p}${key}:`, ...call(indent + 2, "Field.optional", value.inner, c)]
}

/** `key: ["a", "b"]`, one item a line when the whole does not fit. */
export const array = (indent: number, key: string, items: ReadonlyArray<string>, comma: boolean): Array<string> => {
  const p = pad(indent)
  const c = comma ? "," : ""
  const line = `${p}${key}: [${items.join(", ")}]${c}`
  if (items.length === 0 || fits(line)) return [line]
  return [`${p}${key}: [`, ...items.map((item, i) => `${p}  ${item}${i < items.length - 1 ? "," : ""}`), `${p}]${c}`]
}

/** An object literal's body: the lines of its properties at `indent`, each taking the indent it is given. */
export type Body = (indent: number) => Array<string>

/**
 * `export class Name extends Base.Class<Name>("Name")({ ...body }) {}`, the shape of a hand-written
 * message or model class, with the body's properties at two spaces.
 */
export const classDeclaration = (name: string, base: string, body: Body): Array<string> => {
  const id = `"${name}"`
  const inner = body(0)
  const empty = inner.length === 0
  const open = empty ? "({})" : "({"
  const head = `export class ${name} extends ${base}.Class<${name}>(${id})${open}`
  if (fits(empty ? `${head} {}` : head)) {
    return empty ? [`${head} {}`] : [head, ...body(2), "}) {}"]
  }
  const close = empty ? [] : ["  })"]
  const content = empty ? [] : body(4)
  const extendsLine = `  extends ${base}.Class<${name}>(${id})${open}`
  if (fits(extendsLine)) {
    return [`export class ${name}`, extendsLine, ...content, ...close, "{}"]
  }
  if (fits(`  extends ${base}.Class<${name}>(`)) {
    return [
      `export class ${name}`,
      `  extends ${base}.Class<${name}>(`,
      `    ${id}`,
      `  )${open}`,
      ...content,
      ...close,
      "{}"
    ]
  }
  const typeArgument = [`export class ${name}`, `  extends ${base}.Class<`, `    ${name}`]
  if (fits(`  >(${id})${open}`)) {
    return [...typeArgument, `  >(${id})${open}`, ...content, ...close, "{}"]
  }
  return empty
    ? [...typeArgument, `  >(${id})(`, "    {}", "  )", "{}"]
    : [...typeArgument, `  >(${id})(`, "    {", ...body(6), "    }", "  )", "{}"]
}

/** `import { a, b } from "module"`, one name a line when it does not fit. */
export const importDeclaration = (names: ReadonlyArray<string>, module: string): Array<string> => {
  const line = `import { ${names.join(", ")} } from ${module}`
  if (fits(line)) return [line]
  return ["import {", ...names.map((name, i) => `  ${name}${i < names.length - 1 ? "," : ""}`), `} from ${module}`]
}
