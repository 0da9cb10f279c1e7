// A product: its tasks newest first with live status, and the report request form.
import { useEffect, useState } from "preact/hooks";
import { api, onTaskEvent, type Task } from "../api/client";
import { Link } from "../router";
import { mayWrite } from "../session";
import { Badge, ErrorBox, Section, must, useLoad, when } from "../ui";
import { RequestForm } from "./request";

export function Product({ id }: { id: string }) {
  const [product, error] = useLoad(async () => must(await api.GET("/v1/products/{product_id}", { params: { path: { product_id: id } } })), [id]);
  const [tasks, setTasks] = useState<Task[]>([]);
  const loadTasks = async () => {
    const page = must(await api.GET("/v1/tasks", { params: { query: { limit: 200 } } }));
    setTasks(page.items.filter((t) => t.product_id === id));
  };
  useEffect(() => {
    void loadTasks();
    return onTaskEvent((event) => {
      if (event.product_id !== id) return;
      setTasks((current) => {
        if (!current.some((t) => t.id === event.id)) {
          void loadTasks();
          return current;
        }
        return current.map((t) => (t.id === event.id ? { ...t, status: event.status, progress: event.progress, attempt: event.attempt } : t));
      });
    });
  }, [id]);
  return (
    <>
      <p><Link href="/">← Folders</Link></p>
      <ErrorBox message={error} />
      <h1>{product?.name ?? "Product"}</h1>
      {product && mayWrite() && <RequestForm productId={id} onCreated={() => void loadTasks()} />}
      <Section title="Reports">
        {tasks.length === 0 ? <p>No reports yet.</p> : (
          <table class="tasks">
            <thead><tr><th>Report</th><th>Status</th><th>Progress</th><th>Created</th></tr></thead>
            <tbody>
              {tasks.map((t) => (
                <tr key={t.id} data-task={t.id}>
                  <td><Link href={`/tasks/${t.id}`}>{t.notebook}</Link></td>
                  <td><Badge status={t.status} /></td>
                  <td>{t.progress ? `cell ${t.progress.cell + 1} of ${t.progress.of}` : ""}</td>
                  <td>{when(t.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
