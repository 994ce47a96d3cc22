// What every page may read: the site's settings and who is signed in.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Who } from "./auth";
import type { Config } from "./config";

export interface Session {
  config: Config;
  person: Who | null;
  signedIn: (person: Who) => void;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("no session");
  return session;
}
