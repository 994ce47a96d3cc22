// A provider's documents: the list with links that open each file in the browser (the provider's own, and the
// operator reviewing the application), and the upload straight from the browser to the documents bucket:
//
//   1. POST /providers/{inn}/documents {kind, content_type, size}  → a pre-signed POST (url, fields) for one object
//   2. POST url, multipart: the fields as given, then the file as ``file`` (the bucket checks the signed policy:
//      this key, this Content-Type, at most max_bytes; its CORS rule admits the site's origin)
//   3. POST /providers/{inn}/documents/{id}/confirm                  → checked (type, size, first bytes), hashed, recorded
//
// Nothing is recorded before step 3; a failed step 2 leaves nothing behind to clean up.
import { useRef, useState } from "preact/hooks";
import { api, NetworkError, ok, Refusal } from "../api";
import { Failure, useAction, useKeyed, useLoad } from "../components";
import { date } from "../format";
import { DOCUMENT_KIND, type Document, fileSize } from "./common";

const TYPES: Record<string, "application/pdf" | "image/jpeg" | "image/png"> = {
  "application/pdf": "application/pdf",
  "image/jpeg": "image/jpeg",
  "image/png": "image/png",
};
// A download link lives 5 minutes (the API's expires_in); one older than this is asked for again before use.
const LINK_FRESH_MS = 4 * 60 * 1000;

/** The storage refused the upload (its policy or CORS), said in Russian. */
export class UploadRefused extends Error {}

function uploadMessage(failure: unknown): unknown {
  return failure instanceof UploadRefused
    ? new Refusal(403, "document_rejected", "the bucket refused the upload")
    : failure;
}

export function DocumentList({ inn, documents }: { inn: string; documents: Document[] }) {
  const links = useLoad(async () => {
    const fetched = Date.now();
    const answers = await Promise.all(
      documents.map((d) =>
        ok(api().GET("/providers/{provider_id}/documents/{document_id}", { params: { path: { provider_id: inn, document_id: d.document_id } } })),
      ),
    );
    return { fetched, urls: new Map(answers.map((a) => [a.document_id, a.url])) };
  }, [inn, documents.map((d) => d.document_id).join()]);
  const [renewed, setRenewed] = useState(false);
  if (documents.length === 0) return <p class="muted">Документы ещё не загружены.</p>;
  const open = (event: Event) => {
    if (links.data && Date.now() - links.data.fetched > LINK_FRESH_MS) {
      event.preventDefault(); // the link has expired: a fresh one, then the click again
      setRenewed(true);
      links.reload();
    }
  };
  return (
    <>
      <Failure failure={links.failure} retry={links.reload} />
      {renewed && !links.loading && (
        <p class="notice" role="status">
          Ссылки обновлены: откройте документ ещё раз.
        </p>
      )}
      <ul class="documents">
        {documents.map((d) => {
          const url = links.data?.urls.get(d.document_id);
          return (
            <li key={d.document_id} class="document" data-document={d.document_id}>
              <span class="document-text">
                <strong>{DOCUMENT_KIND[d.kind] ?? d.kind}</strong>
                <span class="muted small">
                  {d.content_type === "application/pdf" ? "PDF" : d.content_type === "image/png" ? "PNG" : "JPEG"}, {fileSize(d.size)},
                  загружен {date(d.uploaded_at)}
                </span>
                <span class="muted small hash" title="Контрольная сумма SHA-256">
                  SHA-256 {d.sha256.slice(0, 16)}…
                </span>
              </span>
              {url ? (
                <a
                  class="button button-secondary"
                  href={url}
                  target="_blank"
                  rel="noopener noreferrer"
                  onClick={open}
                  aria-label={`Открыть: ${DOCUMENT_KIND[d.kind] ?? d.kind}`}
                >
                  Открыть
                </a>
              ) : (
                <span class="muted small">{links.loading ? "Готовим ссылку…" : ""}</span>
              )}
            </li>
          );
        })}
      </ul>
      <p class="muted small">Ссылка на файл действует 5 минут.</p>
    </>
  );
}

export function UploadDocument({ inn, uploaded }: { inn: string; uploaded: () => void }) {
  const [kind, setKind] = useState<"licence" | "charter" | "other">("licence");
  const [file, setFile] = useState<File | null>(null);
  const [step, setStep] = useState("");
  const [done, setDone] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const grant = useKeyed();
  const confirm = useKeyed();
  const upload = useAction(async () => {
    if (!file) return;
    const contentType = TYPES[file.type];
    if (!contentType) throw new Refusal(422, "document_rejected", "type");
    setDone("");
    setStep("Получаем разрешение на загрузку…");
    try {
      const granted = await grant((key) =>
        ok(
          api().POST("/providers/{provider_id}/documents", {
            params: { path: { provider_id: inn }, header: { "Idempotency-Key": key } },
            body: { kind, content_type: contentType, size: file.size },
          }),
        ),
      );
      const target = granted.upload as { url: string; fields: Record<string, string> };
      setStep("Загружаем файл…");
      const form = new FormData();
      for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
      form.append("file", file); // last: S3 reads the policy's fields before the file
      let stored: Response;
      try {
        stored = await fetch(target.url, { method: "POST", body: form });
      } catch {
        throw new NetworkError("upload");
      }
      if (!stored.ok) throw new UploadRefused(`${stored.status}`);
      setStep("Проверяем документ…");
      await confirm((key) =>
        ok(
          api().POST("/providers/{provider_id}/documents/{document_id}/confirm", {
            params: { path: { provider_id: inn, document_id: granted.document_id }, header: { "Idempotency-Key": key } },
          }),
        ),
      );
      setDone(`${DOCUMENT_KIND[kind]}: «${file.name}» загружен и проверен.`);
      setFile(null);
      if (input.current) input.current.value = "";
      uploaded();
    } finally {
      setStep("");
    }
  });
  return (
    <form
      class="upload"
      onSubmit={(event) => {
        event.preventDefault();
        void upload.run();
      }}
    >
      <h3>Загрузить документ</h3>
      <div class="field">
        <label for="doc-kind">Какой документ</label>
        <select id="doc-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
          {Object.entries(DOCUMENT_KIND).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="doc-file">Файл (PDF, JPEG или PNG)</label>
        <input
          ref={input}
          id="doc-file"
          type="file"
          required
          accept="application/pdf,image/jpeg,image/png,.pdf,.jpg,.jpeg,.png"
          onChange={(e) => {
            setFile(e.currentTarget.files?.[0] ?? null);
            upload.clear();
          }}
        />
      </div>
      {file && !TYPES[file.type] && <p class="warn">Этот тип файла не принимается: нужен PDF, JPEG или PNG.</p>}
      <Failure failure={upload.failure === undefined ? undefined : uploadMessage(upload.failure)} retry={() => void upload.run()} />
      {step && (
        <p class="muted" role="status">
          {step}
        </p>
      )}
      {done && (
        <p class="notice notice-ok" role="status">
          {done}
        </p>
      )}
      <button type="submit" class="button" disabled={!file || !TYPES[file.type] || upload.busy} aria-busy={upload.busy}>
        Загрузить
      </button>
    </form>
  );
}
