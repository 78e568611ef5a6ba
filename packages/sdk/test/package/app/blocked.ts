/**
 * Type-checked by `install.test.ts`: the compiler, like Node, sees only what the exports map lists.
 */
// @ts-expect-error the SDK's internals are not exported
import type {} from "@stellanow/sdk/internal/stellaNow.js"
