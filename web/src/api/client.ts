// The typed API client: openapi-fetch over the paths generated from the API's OpenAPI schema.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Task = Schemas["TaskOut"];
export type Me = Schemas["PrincipalOut"];

export const BASE_URL: string = (import.meta.env.VITE_API_BASE_URL ?? "").replace(/\/$/, "");

let token: string | null = null;
let onUnauthorized: () => void = () => {};

export function setToken(value: string | null): void {
  token = value;
}
export function getToken(): string | null {
  return token;
}
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

const auth: Middleware = {
  onRequest({ request }) {
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && token) onUnauthorized();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: BASE_URL });
api.use(auth);

/** A FastAPI error body as text, and per-field messages of a 422 keyed by the field path. */
export type FieldErrors = Record<string, string>;
export function describeError(error: unknown): { message: string; fields: FieldErrors } {
  const detail = (error as { detail?: unknown } | undefined)?.detail;
  if (Array.isArray(detail)) {
    const fields: FieldErrors = {};
    for (const item of detail as { loc: (string | number)[]; msg: string }[]) {
      const key = item.loc.filter((p) => p !== "body").join(".");
      fields[key] = fields[key] ? `${fields[key]}; ${item.msg}` : item.msg;
    }
    return { message: "Please correct the fields marked above.", fields };
  }
  return { message: typeof detail === "string" ? detail : "The request failed.", fields: {} };
}

/** A file of the API fetched with the bearer token (an <iframe> cannot send it). */
export async function fetchBlob(path: string): Promise<Blob> {
  const response = await fetch(BASE_URL + path, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  if (response.status === 401 && token) onUnauthorized();
  if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).slice(0, 300)}`);
  return response.blob();
}

export type TaskEvent = {
  id: string;
  product_id: string;
  status: Schemas["TaskStatus"];
  progress: Schemas["Progress"] | null;
  attempt: number;
};

/** Server-Sent Events from GET /v1/events read with fetch() streaming (EventSource cannot
 * send an Authorization header). Reconnects after a dropped connection; stops on abort. */
export function watchTasks(
  productId: string | null,
  onTask: (event: TaskEvent) => void,
  onReady: () => void = () => {},
): () => void {
  const controller = new AbortController();
  const query = productId ? `?product_id=${encodeURIComponent(productId)}` : "";
  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`${BASE_URL}/v1/events${query}`, {
          headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" },
          signal: controller.signal,
        });
        if (response.status === 401) return onUnauthorized();
        if (!response.ok || !response.body) throw new Error(String(response.status));
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = "message";
            let data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) name = line.slice(7);
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (name === "task") onTask(JSON.parse(data) as TaskEvent);
            else if (name === "ready") onReady();
            else if (name === "signed_out") {
              const me = await api.GET("/v1/me");
              if (me.response.status === 401) return;
            }
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  };
  void run();
  return () => controller.abort();
}

const taskListeners = new Set<(event: TaskEvent) => void>();
let stopHub: (() => void) | null = null;

/** One event stream per tab while signed in; pages subscribe to it. */
export function startEvents(): void {
  stopHub?.();
  stopHub = watchTasks(null, (event) => taskListeners.forEach((l) => l(event)));
}
export function stopEvents(): void {
  stopHub?.();
  stopHub = null;
}
export function onTaskEvent(listener: (event: TaskEvent) => void): () => void {
  taskListeners.add(listener);
  return () => void taskListeners.delete(listener);
}
