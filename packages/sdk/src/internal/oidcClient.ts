/**
 * The token endpoint of the platform's Keycloak (WIRE.md §5): the password grant, the refresh grant,
 * and the classification of what comes back into `AuthError`s whose messages name the realm and the
 * user, never a password or a token.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Stream from "effect/Stream"
import type { OidcCredentials } from "../StellaNowConfig.js"
import { AuthError } from "../StellaNowError.js"
import { ErrorResponse, TokenResponse } from "./oidcToken.js"

/** Where and as whom to ask for tokens. */
export interface Endpoint {
  readonly tokenUrl: string
  /** The realm: the organization id. */
  readonly realm: string
  readonly credentials: OidcCredentials
  /** How long one request may take, answer included. */
  readonly requestTimeout: Duration.Duration
  /** Whether requests carry the trace context (`traceparent`, `b3`) of the span they are made in. */
  readonly traceHeaders: boolean
}

/** The Keycloak token endpoint of an organization: `{apiBase}/auth/realms/{organizationId}/protocol/…`. */
export const keycloakTokenUrl = (apiBaseUrl: string, organizationId: string): string =>
  `${apiBaseUrl.replace(/\/+$/, "")}/auth/realms/${encodeURIComponent(organizationId)}` +
  `/protocol/openid-connect/token`

/** The URL as it may appear in messages: no user info, query or fragment. */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`
  } catch {
    return "(an invalid URL)"
  }
}

const maxServerText = 200

/** Text from the server or the network, with any secret of this request masked, and bounded. */
const sanitize = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join("<redacted>")
  }
  return out.length > maxServerText ? `${out.slice(0, maxServerText)}…` : out
}

/** The innermost cause of a transport failure, as text (e.g. `ECONNREFUSED: connect ECONNREFUSED …`). */
const transportText = (error: unknown): string => {
  let current: unknown = error
  for (let depth = 0; depth < 5; depth++) {
    const next = (current as { cause?: unknown } | null | undefined)?.cause
    if (next === undefined || next === null) break
    current = next
  }
  const code = (current as { code?: unknown } | null | undefined)?.code
  const message = current instanceof Error ? current.message : String(current)
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message
}

const parseJson = Option.liftThrowable((text: string): unknown => JSON.parse(text))

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** The dotted paths of what a decoding issue found wrong (never the values found there). */
const issuePaths = (issue: SchemaIssue.Issue): ReadonlyArray<string> =>
  formatter(issue).issues.map((i) =>
    (i.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".")
  )

/**
 * The largest token endpoint answer read: a token response is a few KiB (Keycloak's JWTs are about 2
 * KiB each). Anything larger is not a token response, and is never buffered whole.
 */
export const maxBodyBytes = 64 * 1024

/** The body could not be read, or it is larger than `maxBodyBytes` (`tooLarge`). */
type BodyFailure = { readonly tooLarge: boolean }

/** The response body as text, read up to `maxBodyBytes`: a larger body stops the read (and the connection). */
const readCapped = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string, BodyFailure> => {
  const length = Number(response.headers["content-length"])
  if (Number.isFinite(length) && length > maxBodyBytes) return Effect.fail({ tooLarge: true })
  return response.stream.pipe(
    Stream.mapError((): BodyFailure => ({ tooLarge: false })),
    Stream.runFoldEffect(
      () => ({ chunks: [] as Array<Uint8Array>, size: 0 }),
      (acc, chunk) => {
        acc.size += chunk.length
        if (acc.size > maxBodyBytes) return Effect.fail<BodyFailure>({ tooLarge: true })
        acc.chunks.push(chunk)
        return Effect.succeed(acc)
      }
    ),
    Effect.map((acc) => {
      // Decoded as a stream, chunk by chunk: a character may straddle two chunks.
      const decoder = new TextDecoder()
      return acc.chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("") + decoder.decode()
    })
  )
}

/**
 * Whether the answer is a web page rather than the token endpoint's JSON: a 404/405, or HTML for a 2xx
 * or 4xx. The URL points at something that is not a token endpoint (a site, a proxy's error page), which
 * retrying or other credentials will not fix.
 */
const looksLikeWrongUrl = (response: HttpClientResponse.HttpClientResponse): boolean => {
  const status = response.status
  if (status === 404 || status === 405) return true
  const type = String(response.headers["content-type"] ?? "").toLowerCase()
  return type.includes("text/html") && status < 500
}

/** The longest `Retry-After` honoured: a provider asking for more is asked again after this. */
export const maxRetryAfterMillis = 5 * 60_000

/**
 * The `Retry-After` of a 429/503 answer, in milliseconds from `now` (RFC 9110 §10.2.3: seconds or an
 * HTTP date), bounded by `maxRetryAfterMillis`; undefined when absent or unreadable.
 */
export const parseRetryAfter = (value: string | undefined, now: number): number | undefined => {
  if (value === undefined) return undefined
  const text = value.trim()
  const millis = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now
  return Number.isNaN(millis) ? undefined : Math.min(maxRetryAfterMillis, Math.max(0, millis))
}

/**
 * How long the provider asked to wait before the next request (its `Retry-After`), by the error it
 * caused. Kept beside the error rather than in it: it is advice for the retry policy, not part of the
 * public error.
 */
const retryAfters = new WeakMap<AuthError, number>()

/** The wait the provider asked for with this error, in milliseconds, if any. */
export const retryAfterOf = (error: AuthError): number | undefined => retryAfters.get(error)

/** A grant: `login` is the password grant, `refresh` the refresh-token grant. */
export type Grant = "login" | "refresh"

/** One token request, as its errors describe it: where, for whom, and the secrets they must not echo. */
interface Attempt {
  readonly url: string
  readonly who: string
  readonly what: string
  readonly secrets: ReadonlyArray<string>
}

const describe = (endpoint: Endpoint, grant: Grant, refreshToken?: Redacted.Redacted<string>): Attempt => {
  const { clientId, password, username } = endpoint.credentials
  return {
    url: displayUrl(endpoint.tokenUrl),
    who: `user "${username}" in realm "${endpoint.realm}" (client "${clientId}")`,
    what: grant === "login" ? "the login of" : "the token refresh of",
    secrets: [Redacted.value(password), ...(refreshToken === undefined ? [] : [Redacted.value(refreshToken)])]
  }
}

/** The grant's form: the password grant, or the refresh-token grant. */
const grantForm = (endpoint: Endpoint, grant: Grant, refreshToken?: Redacted.Redacted<string>) => {
  const { clientId, password, username } = endpoint.credentials
  return grant === "login"
    ? { grant_type: "password", client_id: clientId, username, password: Redacted.value(password), scope: "openid" }
    : { grant_type: "refresh_token", client_id: clientId, refresh_token: Redacted.value(refreshToken!) }
}

const unreachable = (attempt: Attempt, detail: string, cause?: unknown) =>
  new AuthError({
    reason: "Unreachable",
    detail: `cannot get a token for ${attempt.who} from the identity provider at ${attempt.url}: ${detail}`,
    ...(cause === undefined ? {} : { cause })
  })

/**
 * Posts one grant and decodes the answer. Fails with:
 * - `Refused` for 4xx other than 408 and 429 (for a login: the credentials or the client are not
 *   accepted; for a refresh: the refresh token is not, so the caller logs in instead);
 * - `Unreachable` for network errors, timeouts, 408, 429 and 5xx (transient);
 * - `InvalidResponse` for a 2xx that is not a token response, or an answer over `maxBodyBytes`;
 * - `WrongTokenUrl` for a 404/405 or an HTML page: the URL is not a token endpoint.
 */
export const requestToken = (
  http: HttpClient.HttpClient,
  endpoint: Endpoint,
  grant: Grant,
  refreshToken?: Redacted.Redacted<string>
): Effect.Effect<TokenResponse, AuthError> => {
  const attempt = describe(endpoint, grant, refreshToken)
  const request = HttpClientRequest.post(endpoint.tokenUrl).pipe(
    HttpClientRequest.acceptJson,
    HttpClientRequest.bodyUrlParams(grantForm(endpoint, grant, refreshToken))
  )
  return Effect.flatMap(
    http.execute(request).pipe(
      // No trace headers unless asked: a cross-origin request with them needs a CORS preflight, which an
      // identity provider that does not list them in `Access-Control-Allow-Headers` refuses.
      Effect.provideService(HttpClient.TracerPropagationEnabled, endpoint.traceHeaders),
      Effect.catch((error) => {
        const text = sanitize(transportText(error.cause ?? error), attempt.secrets)
        // The error itself holds the request, and the request the form: only its text is kept.
        return Effect.fail(unreachable(attempt, text, new Error(text)))
      })
    ),
    (response) => answer(attempt, response)
  ).pipe(
    Effect.timeoutOrElse({
      duration: endpoint.requestTimeout,
      orElse: () => Effect.fail(unreachable(attempt, `no answer within ${Duration.format(endpoint.requestTimeout)}`))
    })
  )
}

/** Reads the token endpoint's answer: a token response, or the error that says what went wrong. */
const answer = (attempt: Attempt, response: HttpClientResponse.HttpClientResponse) =>
  Effect.gen(function*() {
    const { status } = response
    const { url, what, who } = attempt
    if (looksLikeWrongUrl(response)) {
      return yield* new AuthError({
        reason: "WrongTokenUrl",
        detail: `the token endpoint URL looks wrong: ${url} answered HTTP ${status} ` +
          `with ${String(response.headers["content-type"] ?? "no content type")}, not a token endpoint's JSON ` +
          `(check the API base URL, the organization id or oidc.tokenUrl)`
      })
    }
    const body = yield* Effect.result(readCapped(response))
    if (Result.isFailure(body) && body.failure.tooLarge) {
      return yield* new AuthError({
        reason: "InvalidResponse",
        detail: `the identity provider at ${url} answered ${what} ${who} with HTTP ${status} ` +
          `and a body over ${maxBodyBytes / 1024} KiB: not a token response (not read further)`
      })
    }
    if (status >= 200 && status < 300) {
      if (Result.isFailure(body)) return yield* unreachable(attempt, `HTTP ${status}, but the answer could not be read`)
      return yield* tokenResponse(attempt, status, body.success)
    }
    return yield* refusal(attempt, response, Result.getOrUndefined(body))
  })

/** A 2xx answer's token response, or an `InvalidResponse` naming what is wrong (never its values). */
const tokenResponse = (attempt: Attempt, status: number, text: string): Effect.Effect<TokenResponse, AuthError> => {
  const json = parseJson(text)
  const decoded = Option.isSome(json) ? Schema.decodeUnknownResult(TokenResponse)(json.value) : Result.fail(undefined)
  if (Result.isSuccess(decoded)) return Effect.succeed(decoded.success)
  // Only where the answer is wrong, never its values: they may hold a token.
  const where = decoded.failure === undefined
    ? "not JSON"
    : [...new Set(issuePaths(decoded.failure.issue))]
      .map((path) => path === "" ? "the body" : path)
      .join(", ") + " missing or malformed"
  return Effect.fail(
    new AuthError({
      reason: "InvalidResponse",
      detail: `the identity provider at ${attempt.url} answered ${attempt.what} ${attempt.who} with HTTP ${status} ` +
        `but no usable token (${where})`
    })
  )
}

/**
 * A 4xx is `Refused` (but 408 and 429), anything else `Unreachable`; both carry the OAuth error the
 * provider gave, its secrets masked. A 429/503's `Retry-After` is kept for the retry policy.
 */
const refusal = (attempt: Attempt, response: HttpClientResponse.HttpClientResponse, text: string | undefined) =>
  Effect.gen(function*() {
    const { status } = response
    const oauth = text === undefined
      ? undefined
      : Option.getOrUndefined(Option.flatMap(parseJson(text), Schema.decodeUnknownOption(ErrorResponse)))
    const because = oauth === undefined
      ? ""
      : `: ${sanitize(oauth.error, attempt.secrets)}` +
        (oauth.error_description === undefined ? "" : ` (${sanitize(oauth.error_description, attempt.secrets)})`)
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      return yield* new AuthError({
        reason: "Refused",
        detail:
          `the identity provider at ${attempt.url} refused ${attempt.what} ${attempt.who}: HTTP ${status}${because}`
      })
    }
    const error = unreachable(attempt, `HTTP ${status}${because}`)
    if (status === 429 || status === 503) {
      const wait = parseRetryAfter(response.headers["retry-after"], yield* Clock.currentTimeMillis)
      if (wait !== undefined) retryAfters.set(error, wait)
    }
    return yield* error
  })
