// The API client: openapi-fetch over the types generated from the app's own /openapi.json (web/generated/api.d.ts),
// so a request or an answer that drifts from the contract fails the type check, not a parent.
//
// Every call goes through `send`: the bearer token is added, a 503 with Retry-After is retried by itself (the API
// never remembers a 503 under an Idempotency-Key, so the retry does the work once), a failure to reach the server
// becomes a NetworkError (the page offers a retry), and a refusal becomes a Refusal carrying the API's code.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "../generated/api";
import { token } from "./auth";

export type Schemas = components["schemas"];
export type CatalogItem = Schemas["CatalogItemOut"];
export type Program = Schemas["ProgramOut"];
export type Child = Schemas["ChildOut"];
export type Certificate = Schemas["CertificateOut"];
export type Balance = Schemas["BalanceOut"];
export type LedgerEntry = Schemas["LedgerEntryOut"];
export type Contract = Schemas["ContractOut"];
export type Rating = Schemas["RatingItemOut"];
export type Objection = Schemas["ObjectionOut"];
export type Direction = Schemas["Direction"];
export type CatalogQuery = NonNullable<operations["programs_catalog_page"]["parameters"]["query"]>;

// Every refusal code any route may answer with, as the document lists them: errors.ts must name each one.
type Answers<O> = O extends { responses: infer R } ? R[keyof R] : never;
type CodeOf<A> = A extends { content: { "application/json": { error: { code: infer C } } } } ? C : never;
export type ErrorCode = CodeOf<Answers<operations[keyof operations]>>;

/** The API refused the request (4xx, or a 5xx that is not worth retrying by ourselves). */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
  ) {
    super(`${status} ${code}: ${apiMessage}`);
  }
}

/** The server could not be reached (or the answer was lost on the way). */
export class NetworkError extends Error {}

const RETRIES_ON_503 = 4;
const LONGEST_WAIT_SECONDS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// In AWS the API is reached through CloudFront, whose origin access control signs each request for the Function URL;
// Lambda takes no unsigned body, so a request with a body names its SHA-256 (hex) in x-amz-content-sha256.
async function bodyHash(request: Request): Promise<string | null> {
  if (request.method === "GET" || request.method === "HEAD") return null;
  const body = await request.clone().arrayBuffer();
  const digest = await crypto.subtle.digest("SHA-256", body);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(request: Request): Promise<Response> {
  const bearer = token();
  if (bearer && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${bearer}`);
  const hash = await bodyHash(request);
  if (hash !== null) request.headers.set("x-amz-content-sha256", hash);
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(request.clone());
    } catch {
      throw new NetworkError("network");
    }
    if (response.status !== 503 || attempt >= RETRIES_ON_503) return response;
    const wait = Number(response.headers.get("Retry-After"));
    await sleep(1000 * Math.min(Number.isFinite(wait) && wait > 0 ? wait : 1, LONGEST_WAIT_SECONDS));
  }
}

let client: ReturnType<typeof createClient<paths>> | null = null;

export function configureApi(baseUrl: string): void {
  client = createClient<paths>({ baseUrl, fetch: send });
}

export function api(): ReturnType<typeof createClient<paths>> {
  if (!client) throw new Error("the API is not configured yet");
  return client;
}

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's body, or a Refusal with the API's code. */
export async function ok<T>(call: Promise<Outcome<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok && data !== undefined) return data;
  const body = (error ?? {}) as { error?: { code?: string; message?: string } };
  throw new Refusal(response.status, body.error?.code ?? `http_${response.status}`, body.error?.message ?? "");
}

/** A new Idempotency-Key: one per attempt of an action, reused by its retries. */
export function newKey(): string {
  return crypto.randomUUID();
}
