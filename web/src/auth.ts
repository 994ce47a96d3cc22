// Who is signed in. The token lives in sessionStorage: it goes with the tab, never to another site.
//
// In AWS: the Cognito Hosted UI, authorization code flow with PKCE (RFC 7636). `signInWithCognito` makes a
// code_verifier (32 random bytes, base64url), sends its S256 challenge and a random state to /oauth2/authorize;
// Cognito sends the browser back to the site with ?code&state, and `completeCognitoSignIn` checks the state and
// exchanges the code with the verifier at /oauth2/token for the ID token (it carries the custom:role attributes the
// API reads). Sign-out forgets the tokens and ends the Hosted UI's session at /logout.
// In the local stage: POST /dev/token for one of the demo region's people (the sign-in page lists them).
import type { Cognito } from "./config";

const TOKEN = "pfdo.token";
const WHO = "pfdo.who";
const PENDING = "pfdo.pkce";

export interface Who {
  sub: string;
  role: "parent" | "provider" | "operator";
  label: string;
  /** A provider's ИНН (its provider_id), from the token. */
  providerId?: string;
  /** An operator's municipality, "*" for the regional operator, from the token. */
  municipality?: string;
}

export function token(): string | null {
  const value = sessionStorage.getItem(TOKEN);
  if (!value) return null;
  const expires = expiry(value);
  if (expires !== null && expires * 1000 <= Date.now()) {
    forget();
    return null;
  }
  return value;
}

export function who(): Who | null {
  const jwt = token();
  if (!jwt) return null;
  const value = sessionStorage.getItem(WHO);
  return value ? { ...(JSON.parse(value) as Who), ...scope(claims(jwt)) } : null;
}

/** What the token scopes its holder to: the provider's ИНН, the operator's municipality (local tokens name them
 * plainly, Cognito's ID tokens as custom attributes). The API decides; the page only shows what the holder may do. */
export function scope(said: Record<string, unknown>): Pick<Who, "providerId" | "municipality"> {
  const text = (name: string) => {
    const value = said[name] ?? said[`custom:${name}`];
    return typeof value === "string" && value ? value : undefined;
  };
  const found: Pick<Who, "providerId" | "municipality"> = {};
  const providerId = text("provider_id");
  const municipality = text("municipality");
  if (providerId) found.providerId = providerId;
  if (municipality) found.municipality = municipality;
  return found;
}

export function remember(value: string, person: Who): void {
  sessionStorage.setItem(TOKEN, value);
  sessionStorage.setItem(WHO, JSON.stringify(person));
}

export function forget(): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(WHO);
}

/** The JWT's claims (not verified: the API verifies; the page only reads the name and the expiry). */
export function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1];
  if (!part) return {};
  try {
    const text = new TextDecoder().decode(fromBase64Url(part));
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function expiry(jwt: string): number | null {
  const exp = claims(jwt).exp;
  return typeof exp === "number" ? exp : null;
}

function fromBase64Url(text: string): Uint8Array {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

export function base64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

// --- Cognito Hosted UI -----------------------------------------------------------------------------------------------

export async function signInWithCognito(cognito: Cognito, returnTo: string): Promise<void> {
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: cognito.clientId,
    redirect_uri: cognito.redirectUri,
    scope: cognito.scopes.join(" "),
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
    lang: "ru",
  });
  window.location.assign(`${cognito.domain}/oauth2/authorize?${query}`);
}

export class SignInFailed extends Error {}

/** After the Hosted UI: exchanges ?code for tokens. Returns the route to go back to, or null if this is no return. */
export async function completeCognitoSignIn(cognito: Cognito): Promise<string | null> {
  const url = new URL(window.location.href);
  const code = url.searchParams.get("code");
  const state = url.searchParams.get("state");
  const failure = url.searchParams.get("error");
  if (!code && !failure) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? "null") as {
    verifier: string;
    state: string;
    returnTo: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  window.history.replaceState(null, "", url.pathname + url.hash); // the code is used once: off the address bar
  if (failure) throw new SignInFailed(failure);
  if (!pending || !code || state !== pending.state) throw new SignInFailed("state");
  const response = await fetch(`${cognito.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: cognito.clientId,
      code,
      redirect_uri: cognito.redirectUri,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new SignInFailed(`token ${response.status}`);
  const tokens = (await response.json()) as { id_token?: string };
  if (!tokens.id_token) throw new SignInFailed("no id_token");
  const said = claims(tokens.id_token);
  const groups = Array.isArray(said["cognito:groups"]) ? (said["cognito:groups"] as string[]) : [];
  const grouped = groups.find((g) => g === "parent" || g === "provider" || g === "operator");
  const role = (said["custom:role"] ?? grouped ?? said.role ?? "parent") as Who["role"];
  const label = String(said.name ?? said.email ?? said.sub ?? "");
  remember(tokens.id_token, { sub: String(said.sub ?? ""), role, label });
  return pending.returnTo;
}

export function signOutOfCognito(cognito: Cognito): void {
  forget();
  const query = new URLSearchParams({ client_id: cognito.clientId, logout_uri: cognito.redirectUri });
  window.location.assign(`${cognito.domain}/logout?${query}`);
}
