/**
 * The machine's programs the integration tests run (mosquitto, openssl, PostgreSQL): found before they
 * are spawned, so that a missing one fails with what to install instead of `spawn … ENOENT`.
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** A program the tests need, and the Debian/Ubuntu package that brings it. */
export interface Program {
  readonly name: string
  readonly debianPackage: string
  /** Where to look after PATH (e.g. `/usr/sbin`, which is often not on a user's PATH). */
  readonly alsoIn?: ReadonlyArray<string>
}

const isExecutable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

/** The directories on PATH, in order. */
export const pathDirs = (): Array<string> => (process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== "")

/** The first executable file called `name` in `dirs`, if any. */
export const firstExecutable = (name: string, dirs: ReadonlyArray<string>): string | undefined =>
  dirs.map((dir) => path.join(dir, name)).find(isExecutable)

/** The error for a program that is not installed: what is missing, and the command that installs it. */
export const notInstalled = (program: string, debianPackage: string, lookedIn: string): Error =>
  new Error(
    `${program} is not installed (looked ${lookedIn}); the integration tests run it. Install it with ` +
      `"apt-get install ${debianPackage}" (Debian/Ubuntu), or run "npm test" from the repository's root, ` +
      `which installs what the tests need.`
  )

/** The program's path: the first executable on PATH, then in `alsoIn`; throws {@link notInstalled}. */
export const findProgram = (program: Program): string => {
  const found = firstExecutable(program.name, [...pathDirs(), ...program.alsoIn ?? []])
  if (found !== undefined) return found
  const where = program.alsoIn === undefined ? "on PATH" : `on PATH and in ${program.alsoIn.join(", ")}`
  throw notInstalled(program.name, program.debianPackage, where)
}

/** The mosquitto broker (Debian installs it in /usr/sbin). */
export const mosquitto: Program = { name: "mosquitto", debianPackage: "mosquitto", alsoIn: ["/usr/sbin"] }

/** mosquitto's password-file tool, from the same package. */
export const mosquittoPasswd: Program = { name: "mosquitto_passwd", debianPackage: "mosquitto" }

/** The OpenSSL command line, which makes the TLS tests' CA and server certificate. */
export const openssl: Program = { name: "openssl", debianPackage: "openssl" }
