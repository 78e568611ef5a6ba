/**
 * The tarballs `globalSetup.ts` packs once, handed to every test file of the project.
 */
import { inject } from "vitest"

/** The tarballs `pnpm pack` made, by package. */
export interface Tarballs {
  readonly sdk: string
  readonly sql: string
  readonly cli: string
}

declare module "vitest" {
  export interface ProvidedContext {
    readonly tarballs: Tarballs
  }
}

/** The packed tarballs, provided by `globalSetup.ts`. */
export const tarballs = (): Tarballs => inject("tarballs")
