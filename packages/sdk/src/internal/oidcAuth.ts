import {
  Clock,
  Duration,
  Effect,
  Option,
  Result,
  Schedule,
  type Scope,
  Semaphore,
  Stream,
  SubscriptionRef
} from "effect"
import { HttpClient } from "effect/http"
import type { Credentials, Service } from "../Auth.js"
import type { Options } from "../AuthOidc.js"
import { type AuthError, ConfigurationError } from "../StellaNowError.js"
import * as Backoff from "./backoff.js"
import * as OidcClient from "./oidcClient.js"
import * as OidcToken from "./oidcToken.js"
import * as Check from "./options.js"

/** The SDK's backoff (the sink reconnects on it too). */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Backoff.schedule

/** The settings of one OIDC auth, checked. */
export interface Settings {
  readonly endpoint: OidcClient.Endpoint
  readonly timing: OidcToken.Timing
  readonly retrySchedule: Schedule.Schedule<unknown, unknown>
}

export const settings = (options: Options): Effect.Effect<Settings, ConfigurationError> =>
  Effect.gen(function*() {
    const { credentials, organizationId } = options
    if (organizationId === "") return yield* Check.invalid("OIDC needs the organization id: it is the Keycloak realm")
    if (credentials.username === "") return yield* Check.invalid("OIDC needs a username (OIDC_USERNAME)")
    if (credentials.clientId === "") return yield* Check.invalid("OIDC needs a client id (OIDC_CLIENT_ID)")
    const tokenUrl = options.tokenUrl ??
      (options.apiBaseUrl === undefined ? undefined : OidcClient.keycloakTokenUrl(options.apiBaseUrl, organizationId))
    if (tokenUrl === undefined) {
      return yield* Check.invalid(
        "OIDC needs the API base URL of the environment (this one has none) or a token endpoint (oidc.tokenUrl)"
      )
    }
    const parsed = yield* Effect.try({
      try: () => new URL(tokenUrl),
      catch: () => Check.invalid(`the OIDC token endpoint is not a URL: ${OidcClient.displayUrl(tokenUrl)}`)
    })
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      return yield* Check.invalid(`the OIDC token endpoint must be an http(s) URL, got ${parsed.protocol}`)
    }
    const refreshBeforeExpiry = yield* Check.duration(
      options.refreshBeforeExpiry,
      "60 seconds",
      "refreshBeforeExpiry"
    )
    const clockSkew = yield* Check.duration(options.clockSkew, "10 seconds", "clockSkew", { allowZero: true })
    const requestTimeout = yield* Check.duration(options.requestTimeout, "10 seconds", "requestTimeout")
    return {
      endpoint: { tokenUrl, realm: organizationId, credentials, requestTimeout },
      timing: { refreshBeforeExpiry: Duration.toMillis(refreshBeforeExpiry), clockSkew: Duration.toMillis(clockSkew) },
      retrySchedule: options.retrySchedule ?? defaultRetrySchedule
    }
  })

/**
 * The token in hand, whether it was handed out (a token nobody uses is not refreshed), and whether a
 * broker refused it (then it is not handed out again).
 */
interface Entry {
  readonly token: OidcToken.Token
  used: boolean
  rejected: boolean
}

const seconds = (millis: number) => `${Math.round(millis / 100) / 10} s`

const toCredentials = (entry: Entry): Credentials => {
  entry.used = true
  return { username: entry.token.accessToken, expiresAt: entry.token.expiresAt }
}

export const make = (
  options: Options
): Effect.Effect<Service, ConfigurationError, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function*() {
    const { endpoint, retrySchedule, timing } = yield* settings(options)
    const http = yield* HttpClient.HttpClient
    const state = yield* SubscriptionRef.make<Entry | undefined>(undefined)
    const lock = yield* Semaphore.make(1)
    const { clientId, username } = endpoint.credentials
    const who = `"${username}" (realm "${endpoint.realm}", client "${clientId}")`
    const attributes = { "oidc.realm": endpoint.realm, "oidc.client_id": clientId, "oidc.username": username }

    const obtain = (grant: OidcClient.Grant, previous?: OidcToken.Token) =>
      Effect.gen(function*() {
        const sentAt = yield* Clock.currentTimeMillis
        const response = yield* OidcClient.requestToken(http, endpoint, grant, previous?.refreshToken)
        return OidcToken.fromResponse(response, sentAt, timing)
      })

    const login = Effect.fn("AuthOidc.login", { attributes })(function*() {
      const token = yield* obtain("login")
      yield* Effect.logInfo(
        `logged in as ${who}; the access token is used for ${seconds(token.expiresAt - token.obtainedAt)}`
      )
      return token
    })

    const refresh = Effect.fn("AuthOidc.refresh", { attributes })(function*(previous: OidcToken.Token) {
      const token = yield* obtain("refresh", previous)
      yield* Effect.logDebug(
        `refreshed the access token; it is used for ${seconds(token.expiresAt - token.obtainedAt)}`
      )
      return token
    })

    /** A new token: by the refresh token while it lasts and is accepted, else by logging in. */
    const renew = (previous: OidcToken.Token | undefined) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (previous !== undefined && OidcToken.canRefresh(previous, now)) {
          const refreshed = yield* Effect.result(refresh(previous))
          if (Result.isSuccess(refreshed)) return refreshed.success
          if (refreshed.failure.reason !== "Refused") return yield* refreshed.failure
          yield* Effect.logWarning("the identity provider refused the refresh token; logging in again")
        } else if (previous?.refreshToken !== undefined) {
          yield* Effect.logDebug("the refresh token has expired; logging in again")
        }
        return yield* login()
      })

    /** The token in hand if it is fresh, else a new one. One renewal at a time: callers share it. */
    const ensureFresh: Effect.Effect<Entry, AuthError> = lock.withPermits(1)(
      Effect.gen(function*() {
        const entry = yield* SubscriptionRef.get(state)
        if (entry !== undefined && !entry.rejected && OidcToken.isFresh(entry.token, yield* Clock.currentTimeMillis)) {
          return entry
        }
        const next: Entry = { token: yield* renew(entry?.token), used: false, rejected: false }
        yield* SubscriptionRef.set(state, next)
        return next
      })
    )

    const credentials: Effect.Effect<Credentials, AuthError> = Effect.gen(function*() {
      const fresh = yield* Effect.result(ensureFresh)
      if (Result.isSuccess(fresh)) return toCredentials(fresh.success)
      const error = fresh.failure
      const entry = yield* SubscriptionRef.get(state)
      const now = yield* Clock.currentTimeMillis
      if (error.isTransient && entry !== undefined && !entry.rejected && OidcToken.isUsable(entry.token, now)) {
        // The provider is unavailable, but the token in hand still has a while to go: the broker
        // connection is renewed before it expires, and by then the provider may be back.
        yield* Effect.logWarning("cannot renew the access token; using the current one until it expires", error.message)
        return toCredentials(entry)
      }
      return yield* error
    }).pipe(Effect.withSpan("AuthOidc.credentials", { attributes }), Effect.annotateLogs({ module: "AuthOidc" }))

    /** The broker refused a token: the next `credentials` gets a new one (by refresh while it is accepted). */
    const rejected = (refused: Credentials): Effect.Effect<void> =>
      Effect.gen(function*() {
        const entry = yield* SubscriptionRef.get(state)
        if (entry === undefined || entry.rejected || entry.token.accessToken !== refused.username) return
        entry.rejected = true
        yield* Effect.logWarning("the broker refused the access token; the next attempt gets a new one")
      }).pipe(Effect.annotateLogs({ module: "AuthOidc" }))

    /** The next token that is not `after`. */
    const nextEntry = (after: Entry | undefined): Effect.Effect<Entry> =>
      SubscriptionRef.changes(state).pipe(
        Stream.filter((entry): entry is Entry => entry !== undefined && entry !== after),
        Stream.runHead,
        Effect.flatMap(Option.match({ onNone: () => Effect.never, onSome: Effect.succeed }))
      )

    /**
     * Keeps the token in use fresh: at its refresh time it is renewed, retrying what is transient
     * until it expires. A token nobody took is not refreshed: the next `credentials` renews it.
     */
    const refresher = Effect.gen(function*() {
      let entry = yield* nextEntry(undefined)
      while (true) {
        const wait = entry.token.refreshAt - (yield* Clock.currentTimeMillis)
        const replaced = yield* Effect.raceFirst(
          Effect.as(Effect.sleep(Duration.millis(Math.max(0, wait))), undefined),
          nextEntry(entry)
        )
        if (replaced !== undefined) {
          entry = replaced
          continue
        }
        if (entry.used) {
          const renewing = entry
          const worthRetrying = (error: AuthError) =>
            Effect.map(
              Clock.currentTimeMillis,
              (now) => error.isTransient && now < renewing.token.expiresAt
            )
          yield* ensureFresh.pipe(
            Effect.tapError((error) =>
              error.isTransient
                ? Effect.logWarning("could not renew the access token; retrying", error.message)
                : Effect.logError("the identity provider refused the credentials", error.message)
            ),
            Effect.retry({ schedule: retrySchedule, while: worthRetrying }),
            Effect.ignore
          )
        } else {
          yield* Effect.logDebug("the access token is not in use; it is renewed when next needed")
        }
        entry = yield* nextEntry(entry)
      }
    }).pipe(Effect.annotateLogs({ module: "AuthOidc", role: "token-refresh" }))

    yield* Effect.forkScoped(Effect.interruptible(refresher))

    return { mode: "oidc", credentials, rejected } satisfies Service
  })
