// Small shared pieces: status badges, dates, errors, loading.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export function Badge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`} data-status={status}>{status}</span>;
}

export function when(value: string | null | undefined): string {
  return value ? new Date(value).toLocaleString() : "—";
}

export function ErrorBox({ message }: { message: string }) {
  return message ? <p class="error" role="alert">{message}</p> : null;
}

export function Section(props: { title: string; children: ComponentChildren }) {
  return (
    <section class="card">
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** Load something once per `deps`; `reload()` fetches again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [T | null, string, () => void] {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (v) => live && (setValue(v), setError("")),
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => void (live = false);
  }, [...deps, tick]);
  return [value, error, () => setTick((t) => t + 1)];
}

/** The data of an openapi-fetch result, or throw its error detail. */
export function must<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    const detail = (result.error as { detail?: unknown } | undefined)?.detail;
    throw new Error(typeof detail === "string" ? detail : `request failed (${result.response.status})`);
  }
  return result.data;
}
