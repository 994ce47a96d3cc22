import { PageTitle } from "../components";
import { href } from "../router";
import { useSession } from "../session";

/** The parents' pages ask whoever is not a signed-in parent to sign in first. */
export function NeedParent({ title, here }: { title: string; here: string }) {
  const { person } = useSession();
  return (
    <section class="narrow">
      <PageTitle>{title}</PageTitle>
      {person ? (
        <p>Этот раздел доступен родителям.</p>
      ) : (
        <p>
          <a class="button" href={href.signIn(here)}>
            Войти
          </a>
        </p>
      )}
    </section>
  );
}
