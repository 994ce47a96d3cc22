// The pieces every page uses: loading with a retry, actions that cannot run twice at once, the failure notice, the
// balance bar, the page frame.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type Balance, newKey } from "./api";
import { describe, retryable } from "./errors";
import { money } from "./format";

export interface Loaded<T> {
  data: T | undefined;
  failure: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads once per change of ``deps``; ``reload`` asks again (the "Повторить" of a failed load). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; failure?: unknown; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ data: previous.data, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (failure: unknown) => current && setState({ failure, loading: false }),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data: state.data, failure: state.failure, loading: state.loading, reload };
}

export interface Action<A extends unknown[]> {
  run: (...args: A) => Promise<void>;
  busy: boolean;
  failure: unknown;
  clear: () => void;
}

/** An action the page submits: never twice at once (a second click while in flight does nothing), its failure kept
 * for the notice. */
export function useAction<A extends unknown[]>(perform: (...args: A) => Promise<void>): Action<A> {
  const inFlight = useRef(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const run = useCallback(
    async (...args: A) => {
      if (inFlight.current) return;
      inFlight.current = true;
      setBusy(true);
      setFailure(undefined);
      try {
        await perform(...args);
      } catch (caught) {
        setFailure(caught);
      } finally {
        inFlight.current = false;
        setBusy(false);
      }
    },
    [perform],
  );
  return { run, busy, failure, clear: () => setFailure(undefined) };
}

/** Runs a POST with one Idempotency-Key for all retries of the attempt (a 503 retried by the client, a «Повторить»
 * after a lost answer, a double click); a new attempt, with a new key, once the API answered. */
export function useKeyed() {
  const key = useRef<string | null>(null);
  return async <T,>(post: (key: string) => Promise<T>): Promise<T> => {
    key.current ??= newKey();
    try {
      const answer = await post(key.current);
      key.current = null;
      return answer;
    } catch (failure) {
      if (!retryable(failure)) key.current = null;
      throw failure;
    }
  };
}

export function Failure({ failure, retry }: { failure: unknown; retry?: (() => void) | undefined }) {
  if (failure === undefined) return null;
  return (
    <div class="notice notice-error" role="alert">
      <p>{describe(failure)}</p>
      {retry && retryable(failure) && (
        <button type="button" class="button button-secondary" onClick={retry}>
          Повторить
        </button>
      )}
    </div>
  );
}

export function Loading({ what = "Загрузка…" }: { what?: string }) {
  return (
    <p class="loading" role="status">
      {what}
    </p>
  );
}

export function Busy({ busy, children, ...rest }: { busy: boolean; children: ComponentChildren } & Record<string, unknown>) {
  return (
    <button type="submit" class="button" disabled={busy} aria-busy={busy} {...rest}>
      {children}
    </button>
  );
}

/** The page frame's heading: takes focus when the page changes, so a screen reader announces the new page. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement?.closest("nav")) {
      heading.current?.focus({ preventScroll: false });
    }
  }, []);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}

const PARTS: { key: keyof Balance; label: string; tone: string }[] = [
  { key: "available", label: "Доступно", tone: "available" },
  { key: "held", label: "Зарезервировано", tone: "held" },
  { key: "spent", label: "Оплачено", tone: "spent" },
  { key: "expired", label: "Сгорело", tone: "expired" },
];

/** credited = available + held + spent + expired, drawn as one bar. */
export function BalanceBar({ balance }: { balance: Balance }) {
  const total = Math.max(balance.credited, 1);
  return (
    <section class="balance" aria-labelledby="balance-title">
      <h2 id="balance-title">Баланс сертификата</h2>
      <p class="balance-credited">
        Зачислено за период: <strong>{money(balance.credited)}</strong>
      </p>
      <div class="bar" aria-hidden="true">
        {PARTS.map(({ key, tone }) =>
          balance[key] > 0 ? (
            <span key={key} class={`bar-part tone-${tone}`} style={{ width: `${(100 * balance[key]) / total}%` }} />
          ) : null,
        )}
      </div>
      <dl class="legend">
        {PARTS.map(({ key, label, tone }) => (
          <div key={key} class="legend-item">
            <dt>
              <span class={`swatch tone-${tone}`} aria-hidden="true" />
              {label}
            </dt>
            <dd data-part={key}>{money(balance[key])}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
