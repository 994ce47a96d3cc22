// Hash routes (#/programs/ID): a static site needs no server-side rewrites, on CloudFront as on `make run`.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "catalog" }
  | { page: "program"; id: string }
  | { page: "sign-in"; next: string }
  | { page: "children" }
  | { page: "certificate"; id: string }
  | { page: "contracts" }
  | { page: "not-found" };

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
  return { page: "not-found" };
}

export const href = {
  catalog: () => "#/",
  program: (id: string) => `#/programs/${encodeURIComponent(id)}`,
  signIn: (next: string) => `#/sign-in?next=${encodeURIComponent(next)}`,
  children: () => "#/children",
  certificate: (id: string) => `#/certificates/${encodeURIComponent(id)}`,
  contracts: () => "#/contracts",
};

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
