// The site's settings, read from /config.json at start: written by `make run` (local stage) or at deployment from the
// stack's outputs (devtools/site.py). Nothing about the API or the sign-in is built into the bundle.

export interface Person {
  /** The token's claims: what POST /dev/token is asked for. */
  role: "parent" | "provider" | "operator";
  sub: string;
  municipality?: string;
  provider_id?: string;
  /** How the sign-in page names them. */
  label: string;
  note?: string;
}

export interface Cognito {
  /** The Hosted UI's domain, e.g. https://pfdo-prod-123.auth.eu-central-1.amazoncognito.com */
  domain: string;
  clientId: string;
  /** Where Cognito sends the browser back: the site's root URL. */
  redirectUri: string;
  scopes: string[];
}

export interface Config {
  stage: string;
  apiUrl: string;
  /** Municipality id → its name in Russian (the catalog's filter, the registration form). */
  municipalities: Record<string, string>;
  /** Local stage only: the people of the demo region the sign-in page lists. */
  people?: Person[];
  /** Outside the local stage: the Cognito Hosted UI. */
  cognito?: Cognito | null;
}

export async function loadConfig(): Promise<Config> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: ${response.status}`);
  const config = (await response.json()) as Config;
  return { ...config, apiUrl: config.apiUrl.replace(/\/+$/, "") };
}
