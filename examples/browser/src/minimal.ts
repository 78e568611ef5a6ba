/**
 * The smallest page app: one message class, the browser entry's Promise front door with a token
 * provider, one event. `scripts/check-bundle.mjs` bundles it with esbuild and Vite for the browser and
 * fails on any warning; the bench reports its size.
 */
import { configureBrowserSdk, Field, Message } from "@stellanow/sdk/browser"

class Ping extends Message.Class<Ping>("Ping")({ event: "ping", entities: ["patron"], fields: { n: Field.Integer } }) {}

const main = async () => {
  const sdk = configureBrowserSdk({
    environment: "prod",
    organizationId: "7d163820-6a2c-4bd4-9b5a-3f4b2f8a1c11",
    projectId: "9c9da21c-0d5e-4f57-8a51-2d7c9e6b3f22",
    tokenProvider: async ({ signal }) => (await fetch("/stellanow-token", { signal })).json()
  })
  await sdk.start()
  await sdk.sendMessage(new Ping({ patron: "1", n: 1 }))
  await sdk.close()
}

// No top-level await: the page builds with a bundler's default browser targets.
void main()
