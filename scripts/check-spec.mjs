#!/usr/bin/env node
/**
 * Checks the repository's copy of the wire contract (spec/) against the hashes spec/SOURCE.md records
 * and, when the upstream `shared/spec` is beside the repository, against the upstream itself: every
 * vector byte for byte, and WIRE.md by its hash (this project's WIRE.md is its own text, so a changed
 * upstream only means "read it again"). Plain Node, no dependencies.
 *
 *   node scripts/check-spec.mjs [upstream spec dir, default ../shared/spec]
 */
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const spec = join(root, "spec")
const upstream = resolve(process.argv[2] ?? join(root, "../shared/spec"))

const sha256 = (file) => createHash("sha256").update(readFileSync(file)).digest("hex")
const vectorNames = (dir) => readdirSync(join(dir, "vectors")).filter((name) => name.endsWith(".json")).sort()

/** `| \`file\` | \`hash\` |` rows of spec/SOURCE.md, as file -> hash. */
const recorded = new Map(
  [...readFileSync(join(spec, "SOURCE.md"), "utf8").matchAll(/^\| `([^`]+)` \| `([0-9a-f]{64})` \|$/gm)]
    .map(([, file, hash]) => [file, hash])
)

const problems = []

// The copies themselves: each vector is recorded, and still has the recorded hash.
const local = vectorNames(spec)
for (const name of local) {
  const hash = recorded.get(`vectors/${name}`)
  if (hash === undefined) problems.push(`spec/vectors/${name} has no hash in spec/SOURCE.md`)
  else if (sha256(join(spec, "vectors", name)) !== hash) {
    problems.push(`spec/vectors/${name} differs from the upstream copy recorded in spec/SOURCE.md`)
  }
}
for (const file of recorded.keys()) {
  if (file.startsWith("vectors/") && !local.includes(file.slice("vectors/".length))) {
    problems.push(`spec/${file} is recorded in spec/SOURCE.md but missing`)
  }
}

if (!existsSync(upstream)) {
  console.log(`check-spec: no upstream at ${upstream}; skipped the comparison with it.`)
} else {
  const theirs = vectorNames(upstream)
  for (const name of new Set([...theirs, ...local])) {
    if (!theirs.includes(name)) problems.push(`spec/vectors/${name} is not in ${upstream}/vectors`)
    else if (!local.includes(name)) problems.push(`${upstream}/vectors/${name} has no copy in spec/vectors`)
    else if (!readFileSync(join(upstream, "vectors", name)).equals(readFileSync(join(spec, "vectors", name)))) {
      problems.push(`spec/vectors/${name} differs from ${upstream}/vectors/${name}: copy it again`)
    }
  }
  if (sha256(join(upstream, "WIRE.md")) !== recorded.get("WIRE.md")) {
    problems.push(
      `${upstream}/WIRE.md changed since spec/WIRE.md was written from it: read it again, bring ` +
        `spec/WIRE.md up to date, and record its new sha256 in spec/SOURCE.md`
    )
  }
}

if (problems.length > 0) {
  console.error(`check-spec: ${problems.length} problem(s):\n- ${problems.join("\n- ")}`)
  process.exit(1)
}
console.log(`check-spec: spec/ matches ${existsSync(upstream) ? upstream : "spec/SOURCE.md"}.`)
