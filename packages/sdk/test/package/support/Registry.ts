/**
 * A minimal npm registry on a free loopback port, serving packed tarballs: a project whose `.npmrc`
 * routes the `@stellanow` scope here installs the packages just packed, with everything else from
 * the usual registry. Each package has one version (its tarball's) as `latest`; npm checks the
 * tarball against the `integrity` announced.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"
import { run } from "./Project.js"

export interface Registry {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string
  close(): Promise<void>
}

interface Published {
  readonly name: string
  readonly packument: (url: string) => unknown
  readonly tarballPath: string
  readonly tarball: Buffer
}

interface Manifest {
  readonly name: string
  readonly version: string
}

/** A tarball's `dist.integrity`, as npm records it in `package-lock.json`. */
export const integrity = (tarball: Buffer): string => `sha512-${createHash("sha512").update(tarball).digest("base64")}`

const publish = async (file: string): Promise<Published> => {
  const tarball = await fs.readFile(file)
  const manifest = JSON.parse(
    await run("tar", ["-xzOf", file, "package/package.json"], { cwd: path.dirname(file) })
  ) as Manifest
  const tarballPath = `/${manifest.name}/-/${path.basename(file)}`
  const dist = {
    integrity: integrity(tarball),
    shasum: createHash("sha1").update(tarball).digest("hex")
  }
  return {
    name: manifest.name,
    tarballPath,
    tarball,
    packument: (url) => ({
      name: manifest.name,
      "dist-tags": { latest: manifest.version },
      versions: {
        [manifest.version]: {
          ...manifest,
          _id: `${manifest.name}@${manifest.version}`,
          dist: { ...dist, tarball: new URL(tarballPath.slice(1), url).href }
        }
      }
    })
  }
}

const send = (response: http.ServerResponse, status: number, type: string, body: string | Buffer) => {
  response.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) })
  response.end(body)
}

/** Serves the tarballs until `close`. */
export const startRegistry = async (files: ReadonlyArray<string>): Promise<Registry> => {
  const packages = await Promise.all(files.map(publish))
  let url = ""
  const server = http.createServer((request, response) => {
    // npm asks for `/@scope%2fname`.
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname)
    const byName = packages.find((p) => pathname === `/${p.name}`)
    if (byName !== undefined) return send(response, 200, "application/json", JSON.stringify(byName.packument(url)))
    const byTarball = packages.find((p) => pathname === p.tarballPath)
    if (byTarball !== undefined) return send(response, 200, "application/octet-stream", byTarball.tarball)
    send(response, 404, "application/json", JSON.stringify({ error: "not found" }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
