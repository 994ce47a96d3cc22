// Sign-in. In AWS: the Cognito Hosted UI (auth.ts, authorization code flow with PKCE). In the local stage: the people
// of the demo region (config.json lists them, from devtools/seed.py), a new parent and a new provider (a login with
// an ИНН the registry has not seen: it starts with the application); each gets a token from POST /dev/token.
import { useState } from "preact/hooks";
import { api, ok } from "../api";
import { remember, signInWithCognito, who as signedInAs } from "../auth";
import { Failure, PageTitle, useAction } from "../components";
import type { Person } from "../config";
import { municipalityName } from "../format";
import { newInn } from "../registry";
import { go, home } from "../router";
import { useSession } from "../session";

const GROUPS: { role: Person["role"]; title: string }[] = [
  { role: "parent", title: "Родители" },
  { role: "provider", title: "Поставщики" },
  { role: "operator", title: "Операторы" },
];

function randomSuffix(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function SignInPage({ next }: { next: string }) {
  const { config, person, signedIn } = useSession();
  const [chosen, setChosen] = useState<string | null>(null);
  const signIn = useAction(async (who: Person) => {
    setChosen(who.sub);
    const body = { role: who.role, sub: who.sub, municipality: who.municipality ?? null, provider_id: who.provider_id ?? null };
    const answer = await ok(api().POST("/dev/token", { body }));
    const me = { sub: who.sub, role: who.role, label: who.label };
    remember(answer.token, me);
    signedIn(signedInAs() ?? me);
    go(home(who.role, next));
  });
  const cognito = useAction(async () => {
    if (config.cognito) await signInWithCognito(config.cognito, next);
  });

  if (config.cognito) {
    return (
      <section class="narrow">
        <PageTitle>Вход в Навигатор</PageTitle>
        <p>Войдите, чтобы записывать детей на программы, следить за балансом сертификата и договорами.</p>
        <Failure failure={cognito.failure} />
        <button type="button" class="button" onClick={() => void cognito.run()} disabled={cognito.busy}>
          Войти или зарегистрироваться
        </button>
      </section>
    );
  }
  const people = config.people ?? [];
  const newParent = (event: Event) => {
    event.preventDefault();
    void signIn.run({ role: "parent", sub: `parent-new-${randomSuffix()}`, label: "Новый родитель" });
  };
  const newProvider = (event: Event) => {
    event.preventDefault();
    const inn = newInn();
    void signIn.run({ role: "provider", sub: `provider-new-${randomSuffix()}`, provider_id: inn, label: `Новый поставщик, ИНН ${inn}` });
  };
  return (
    <section>
      <PageTitle>Вход в Навигатор</PageTitle>
      <p class="notice">
        Демонстрационный стенд: вход без пароля. Выберите, от чьего имени войти. В рабочей версии вход выполняется
        через единую учётную запись.
      </p>
      {person && <p>Сейчас вы вошли как {person.label}.</p>}
      <Failure failure={signIn.failure} />
      <div class="new-people">
        <form class="panel new-parent" onSubmit={newParent}>
          <h2>Новый родитель</h2>
          <p>Начните с чистого листа: добавьте ребёнка, получите сертификат и запишитесь на программу.</p>
          <button type="submit" class="button" disabled={signIn.busy}>
            Войти как новый родитель
          </button>
        </form>
        <form class="panel new-parent" onSubmit={newProvider}>
          <h2>Новая организация</h2>
          <p>Вход организации, которая ещё не подавала заявку: получит новый ИНН, подаст заявку и загрузит документы.</p>
          <button type="submit" class="button button-secondary" disabled={signIn.busy}>
            Войти как новый поставщик
          </button>
        </form>
      </div>
      {GROUPS.map(({ role, title }) => {
        const group = people.filter((p) => p.role === role);
        if (group.length === 0) return null;
        return (
          <section key={role} aria-labelledby={`group-${role}`}>
            <h2 id={`group-${role}`}>{title}</h2>
            <ul class="people">
              {group.map((p) => (
                <li key={p.sub} class="person">
                  <span class="person-text">
                    <strong>{p.label}</strong>
                    <span class="muted small">
                      {[p.municipality && p.municipality !== "*" ? municipalityName(config.municipalities, p.municipality) : "", p.note ?? ""]
                        .filter(Boolean)
                        .join(" · ")}
                    </span>
                  </span>
                  <button
                    type="button"
                    class="button button-secondary"
                    onClick={() => void signIn.run(p)}
                    disabled={signIn.busy}
                    aria-busy={signIn.busy && chosen === p.sub}
                    aria-label={`Войти: ${p.label}`}
                  >
                    Войти
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </section>
  );
}
