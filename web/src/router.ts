// Hash routes (#/programs/ID): a static site needs no server-side rewrites, on CloudFront as on `make run`.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "catalog" }
  | { page: "program"; id: string }
  | { page: "sign-in"; next: string }
  | { page: "children" }
  | { page: "certificate"; id: string }
  | { page: "contracts" }
  | StaffRoute
  | { page: "not-found" };

/** The providers' and the operators' pages (a chunk of their own, src/staff/): #/provider/SECTION[/ID],
 * #/operator/SECTION[/ID]. */
export type StaffRoute = { page: "provider"; section: ProviderSection; id?: string } | { page: "operator"; section: OperatorSection; id?: string };
export type ProviderSection = "organization" | "programs" | "contracts" | "charges" | "feedback";
export type OperatorSection = "providers" | "programs" | "certificates" | "periods" | "reports" | "objections";

const PROVIDER_SECTIONS: readonly ProviderSection[] = ["organization", "programs", "contracts", "charges", "feedback"];
const OPERATOR_SECTIONS: readonly OperatorSection[] = ["providers", "programs", "certificates", "periods", "reports", "objections"];
// The sections whose pages take an id: a program (the provider edits it, "new" makes one), a contract (the provider
// charges it), a provider (the operator reviews it).
const WITH_ID = new Set(["provider/programs", "provider/contracts", "operator/providers"]);

function staff(parts: string[]): Route | null {
  const [area, section, id] = parts;
  if (area !== "provider" && area !== "operator") return null;
  if (parts.length === 1) return area === "provider" ? { page: "provider", section: "organization" } : { page: "operator", section: "providers" };
  if (parts.length > 3 || (id !== undefined && !WITH_ID.has(`${area}/${section}`))) return null;
  const extra = id === undefined ? {} : { id };
  if (area === "provider" && PROVIDER_SECTIONS.includes(section as ProviderSection)) {
    return { page: "provider", section: section as ProviderSection, ...extra };
  }
  if (area === "operator" && OPERATOR_SECTIONS.includes(section as OperatorSection)) {
    return { page: "operator", section: section as OperatorSection, ...extra };
  }
  return null;
}

export function parse(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [first, second] = parts;
  if (parts.length === 0 || (first === "catalog" && parts.length === 1)) return { page: "catalog" };
  if (first === "programs" && second && parts.length === 2) return { page: "program", id: second };
  if (first === "sign-in" && parts.length === 1) {
    return { page: "sign-in", next: new URLSearchParams(query).get("next") ?? "#/children" };
  }
  if (first === "children" && parts.length === 1) return { page: "children" };
  if (first === "certificates" && second && parts.length === 2) return { page: "certificate", id: second };
  if (first === "contracts" && parts.length === 1) return { page: "contracts" };
  return staff(parts) ?? { page: "not-found" };
}

export const href = {
  catalog: () => "#/",
  program: (id: string) => `#/programs/${encodeURIComponent(id)}`,
  signIn: (next: string) => `#/sign-in?next=${encodeURIComponent(next)}`,
  children: () => "#/children",
  certificate: (id: string) => `#/certificates/${encodeURIComponent(id)}`,
  contracts: () => "#/contracts",
  provider: (section: ProviderSection = "organization", id?: string) =>
    `#/provider/${section}${id === undefined ? "" : `/${encodeURIComponent(id)}`}`,
  operator: (section: OperatorSection = "providers", id?: string) =>
    `#/operator/${section}${id === undefined ? "" : `/${encodeURIComponent(id)}`}`,
};

/** Where a signed-in person starts: a parent where they were going, a provider or an operator in their cabinet. */
export function home(role: "parent" | "provider" | "operator", next: string): string {
  if (role === "parent") return next;
  const own = parse(next);
  return own.page === role ? next : role === "provider" ? href.provider() : href.operator();
}

export function go(to: string): void {
  window.location.hash = to.replace(/^#/, "");
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parse(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}
