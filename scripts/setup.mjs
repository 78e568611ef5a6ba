#!/usr/bin/env node
/**
 * The README's commands on a machine with nothing but Node.js: `npm run demo` and `npm test` come here.
 * It runs everything on a Node.js that `engines.node` accepts (when this one is older, as Node 20 is,
 * it fetches Node.js 24 from the npm registry into `.tools/`), finds pnpm (the `packageManager`
 * version, through npx when it is not installed), installs the programs the tests run when they are
 * missing (on Debian/Ubuntu, as root or with passwordless sudo), and for the tests Deno and Bun from the
 * npm registry into `.tools/runtimes` (pinned by `scripts/runtimes/package-lock.json`), installs the
 * workspace when node_modules is missing or was installed from another lockfile, then runs the demo or
 * the tests.
 * Plain Node, no dependencies, and quick when everything is already there.
 *
 *   node scripts/setup.mjs demo              the demo
 *   node scripts/setup.mjs test [args…]      vitest run [args…]
 *   node scripts/setup.mjs pnpm [args…]      pnpm [args…] at the workspace's version (for .ci/run)
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync
} from "node:fs"
import { delimiter, dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))

const fail = (message) => {
  console.error(`\n${message}\n`)
  process.exit(1)
}

/** Runs a program with the terminal attached; its exit status. */
const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root, ...options })
  if (result.error !== undefined) fail(`could not run ${command}: ${result.error.message}`)
  return result.status ?? 1
}

// ---- Node.js -------------------------------------------------------------------------------------

/** The Node.js fetched from the npm registry when this one is too old: the current LTS line. */
const fetchedNodeMajor = "24"
const toolsDir = join(root, ".tools")

const atLeast = (version, minimum) => {
  const [major, minor = 0] = version.split(".").map(Number)
  return major > minimum.major || (major === minimum.major && minor >= minimum.minor)
}

/**
 * A Node.js at least `minimum`: this one when it is recent enough, else the registry's `node` package
 * (a plain npm install, a few seconds, no root), kept in `.tools/` for the next run. Its `bin` folder.
 */
const newerNode = (minimum) => {
  const prefix = join(toolsDir, `node-${fetchedNodeMajor}`)
  const bin = join(prefix, "node_modules", "node", "bin")
  const probe = () => spawnSync(join(bin, "node"), ["--version"], { encoding: "utf8" }).stdout?.trim() ?? ""
  if (!atLeast(probe().replace(/^v/, "") || "0", minimum)) {
    console.log(
      `--- this is Node.js ${process.version}; fetching Node.js ${fetchedNodeMajor} from the npm registry into .tools/`
    )
    const status = run("npm", [
      "install",
      "--prefix",
      prefix,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      `node@${fetchedNodeMajor}`
    ])
    if (status !== 0 || !atLeast(probe().replace(/^v/, "") || "0", minimum)) {
      fail(
        `Node.js ${minimum.major}.${minimum.minor} or later is needed, and fetching it failed: install Node.js ${fetchedNodeMajor} and run this again.`
      )
    }
  }
  console.log(`--- running on Node.js ${probe()} (.tools/)`)
  return bin
}

/**
 * The environment pnpm and everything after it run in: this Node when it satisfies `engines.node`,
 * otherwise a newer one put first on PATH, so that pnpm, vitest and the demo run on it.
 */
const nodeEnvironment = () => {
  const [, major = "0", minor = "0"] = /(\d+)(?:\.(\d+))?/.exec(manifest.engines.node) ?? []
  const minimum = { major: Number(major), minor: Number(minor) }
  if (atLeast(process.versions.node, minimum)) return process.env
  return { ...process.env, PATH: `${newerNode(minimum)}${delimiter}${process.env.PATH ?? ""}` }
}

// ---- pnpm ----------------------------------------------------------------------------------------

/** pnpm at the version `packageManager` names: the installed one when it is that version, else npx's. */
const findPnpm = (env) => {
  const version = manifest.packageManager.replace(/^pnpm@/, "")
  const installed = spawnSync("pnpm", ["--version"], { env, encoding: "utf8" })
  if (installed.status === 0 && installed.stdout.trim() === version) return { command: "pnpm", prefix: [] }
  console.log(`--- running pnpm ${version} through npx (the pnpm on PATH is missing or another version)`)
  return { command: "npx", prefix: ["--yes", `pnpm@${version}`] }
}

const lockfileHash = () => createHash("sha256").update(readFileSync(join(root, "pnpm-lock.yaml"))).digest("hex")
const installMarker = join(root, "node_modules", ".setup-lockfile-sha256")

/** `pnpm install` unless node_modules was installed from this very lockfile. */
const installWorkspace = (pnpm, env) => {
  const hash = lockfileHash()
  if (existsSync(installMarker) && readFileSync(installMarker, "utf8") === hash) return
  console.log("--- pnpm install --frozen-lockfile")
  const status = run(pnpm.command, [...pnpm.prefix, "install", "--frozen-lockfile"], { env })
  if (status !== 0) fail(`pnpm install failed (exit ${status}).`)
  writeFileSync(installMarker, hash)
}

// ---- The programs the tests run ------------------------------------------------------------------

const onPath = (name, alsoIn = []) =>
  [...(process.env.PATH ?? "").split(delimiter), ...alsoIn].some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })

const postgresInstalled = () => {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql") : []
  return versions.some((version) => existsSync(join("/usr/lib/postgresql", version, "bin", "initdb")))
}

/** Each program the integration tests start, how to tell it is there, and its Debian/Ubuntu package. */
const testPrograms = [
  { name: "mosquitto", present: () => onPath("mosquitto", ["/usr/sbin"]), debianPackage: "mosquitto" },
  { name: "mosquitto_passwd", present: () => onPath("mosquitto_passwd"), debianPackage: "mosquitto" },
  { name: "openssl", present: () => onPath("openssl"), debianPackage: "openssl" },
  { name: "PostgreSQL (initdb)", present: postgresInstalled, debianPackage: "postgresql" },
  // The browser tests' headless browser. Optional on a developer's machine (its tests are skipped,
  // saying so, when it cannot be installed), required under CI.
  {
    name: "chromium",
    present: () => Boolean(process.env.CHROMIUM_BIN) || onPath("chromium"),
    debianPackage: "chromium",
    optional: process.env.CI !== "true"
  }
]

const succeeds = (command, args) => spawnSync(command, args, { stdio: "ignore" }).status === 0

/** The prefix that runs apt-get as root, non-interactive: as we are, with passwordless sudo, or none. */
const aptPrefix = () => {
  if (!existsSync("/etc/debian_version") || !onPath("apt-get", ["/usr/bin"])) return undefined
  const quiet = ["env", "DEBIAN_FRONTEND=noninteractive"]
  if (process.getuid?.() === 0) return quiet
  return succeeds("sudo", ["-n", "true"]) ? ["sudo", "-n", ...quiet] : undefined
}

/**
 * Installs the missing programs with apt-get when allowed; otherwise stops, saying what to install
 * (an optional program is only reported: the tests that need it are skipped).
 */
const installPrograms = (programs) => {
  let missing = programs.filter((program) => !program.present())
  if (missing.length === 0) return
  const prefix = aptPrefix()
  if (prefix === undefined) {
    for (const program of missing.filter((program) => program.optional)) {
      console.warn(
        `--- ${program.name} is not installed and cannot be installed here (not root, no passwordless sudo): ` +
          `the tests that need it are SKIPPED. Install it with: sudo apt-get install ${program.debianPackage}`
      )
    }
    missing = missing.filter((program) => !program.optional)
    if (missing.length === 0) return
  }
  const packages = [...new Set(missing.map((program) => program.debianPackage))]
  const names = missing.map((program) => program.name).join(", ")
  if (prefix === undefined) {
    fail(
      `The tests need programs this machine lacks: ${names}.\n` +
        `On Debian or Ubuntu, install them with:\n\n  sudo apt-get install ${packages.join(" ")}\n\n` +
        `(elsewhere, install ${packages.join(", ")} with the system's package manager), then run npm test again.`
    )
  }
  console.log(`--- installing ${packages.join(" ")} (for ${names})`)
  const apt = (...args) => {
    const [command, ...rest] = [...prefix, "apt-get", ...args]
    if (run(command, rest) !== 0) fail(`apt-get ${args.join(" ")} failed.`)
  }
  apt("update")
  apt("install", "-y", "--no-install-recommends", ...packages)
  const still = programs.filter((program) => !program.present()).map((program) => program.name)
  if (still.length > 0) fail(`apt-get installed ${packages.join(" ")}, but ${still.join(", ")} is still missing.`)
}

// ---- Deno and Bun --------------------------------------------------------------------------------

/**
 * The other runtimes the packed SDK's smoke test runs on (packages/sdk/test/package/runtimes.test.ts):
 * the registry's `deno` and `bun` packages, whose platform packages carry the binaries, installed with
 * `npm ci` from the lockfile in `scripts/runtimes/` into `.tools/runtimes/` (about 200 MB, a few
 * seconds), and not into the workspace, so that `npm run demo` does not fetch them. Kept for the next
 * run while that lockfile is unchanged. A failure is a warning here: the test then skips, or fails
 * under CI=true.
 */
const runtimesSource = join(root, "scripts", "runtimes")
const runtimesDir = join(toolsDir, "runtimes")

const installRuntimes = (env) => {
  const lockfile = (dir) => {
    const file = join(dir, "package-lock.json")
    return existsSync(file) ? readFileSync(file, "utf8") : undefined
  }
  const binaries = ["deno", "bun"].map((name) => join(runtimesDir, "node_modules", ".bin", name))
  if (lockfile(runtimesDir) === lockfile(runtimesSource) && binaries.every((file) => existsSync(file))) return
  console.log("--- installing Deno and Bun from the npm registry into .tools/runtimes (for the smoke test)")
  mkdirSync(runtimesDir, { recursive: true })
  for (const file of ["package.json", "package-lock.json"]) {
    copyFileSync(join(runtimesSource, file), join(runtimesDir, file))
  }
  const status = run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: runtimesDir, env })
  if (status !== 0) {
    console.warn(`--- npm ci in .tools/runtimes failed (exit ${status}): the Deno and Bun smoke test will not run`)
  }
}

// ---- Main ----------------------------------------------------------------------------------------

/** What each command needs from the machine, and what it runs with pnpm. */
const commands = {
  demo: { programs: [], runtimes: false, pnpmArgs: (args) => ["--filter", "@stellanow/examples", "demo", ...args] },
  test: { programs: testPrograms, runtimes: true, pnpmArgs: (args) => ["exec", "vitest", "run", ...args] },
  pnpm: { programs: [], runtimes: false, pnpmArgs: (args) => args }
}

const [name, ...args] = process.argv.slice(2)
const command = Object.hasOwn(commands, name) ? commands[name] : undefined
if (command === undefined) fail(`usage: node scripts/setup.mjs ${Object.keys(commands).join("|")} [args…]`)

const env = nodeEnvironment()
const pnpm = findPnpm(env)
installPrograms(command.programs)
if (command.runtimes) installRuntimes(env)
installWorkspace(pnpm, env)
process.exit(run(pnpm.command, [...pnpm.prefix, ...command.pnpmArgs(args)], { env }))
