// A task: live status and progress, the PDF inline, downloads, the error and the attempts.
import { useEffect, useState } from "preact/hooks";
import { api, fetchBlob, onTaskEvent, type Task } from "../api/client";
import { Link } from "../router";
import { Badge, ErrorBox, Section, must, when } from "../ui";

const EXTENSIONS: Record<string, string> = { pdf: "pdf", html: "html", notebook: "ipynb" };

async function download(task: Task, kind: string): Promise<void> {
  const blob = await fetchBlob(`/v1/tasks/${task.id}/${kind}`);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `${task.notebook}-${task.id}.${EXTENSIONS[kind]}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

export function TaskPage({ id }: { id: string }) {
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState("");
  const [pdfUrl, setPdfUrl] = useState("");
  const load = async () => {
    try {
      setTask(must(await api.GET("/v1/tasks/{task_id}", { params: { path: { task_id: id } } })));
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void load();
    return onTaskEvent((event) => {
      if (event.id !== id) return;
      setTask((t) => (t ? { ...t, status: event.status, progress: event.progress, attempt: event.attempt } : t));
      if (["success", "failed", "cancelled"].includes(event.status)) void load();
    });
  }, [id]);
  const hasPdf = task?.status === "success" && task.artifacts.some((a) => a.kind === "pdf");
  useEffect(() => {
    if (!hasPdf) return;
    let url = "";
    void fetchBlob(`/v1/tasks/${id}/pdf`).then((blob) => setPdfUrl((url = URL.createObjectURL(blob))));
    return () => url && URL.revokeObjectURL(url);
  }, [hasPdf, id]);
  if (!task) return <ErrorBox message={error} />;
  const percent = task.progress ? Math.round((100 * task.progress.cell) / Math.max(task.progress.of, 1)) : 0;
  return (
    <>
      <p><Link href={`/products/${task.product_id}`}>← Product</Link></p>
      <h1>{task.notebook} <Badge status={task.status} /></h1>
      <dl class="facts">
        <dt>Created</dt><dd>{when(task.created_at)}</dd>
        <dt>Run at</dt><dd>{when(task.run_at)}</dd>
        <dt>Finished</dt><dd>{when(task.finished_at)}</dd>
        <dt>Priority</dt><dd>{task.priority}</dd>
        <dt>Parameters</dt><dd><code>{JSON.stringify(task.parameters)}</code></dd>
      </dl>
      {task.status === "running" && (
        <p class="progress" data-progress={task.progress ? `${task.progress.cell}/${task.progress.of}` : ""}>
          <progress max={100} value={percent} aria-label="progress" />
          {task.progress ? ` cell ${task.progress.cell + 1} of ${task.progress.of}` : " starting…"}
        </p>
      )}
      {task.artifacts.length > 0 && (
        <p class="row">
          {task.artifacts.map((a) => (
            <button type="button" key={a.kind} onClick={() => void download(task, a.kind)}>Download {a.kind.toUpperCase()}</button>
          ))}
        </p>
      )}
      {task.error && (
        <Section title="Error">
          <p><strong>{task.error.ename}</strong>: {task.error.evalue} ({task.error.reason}{task.error.cell_index != null ? `, cell ${task.error.cell_index}` : ""})</p>
          {task.error.source && <pre class="code">{task.error.source}</pre>}
          {task.error.traceback && <pre class="code">{task.error.traceback}</pre>}
        </Section>
      )}
      {pdfUrl && <iframe class="pdf" src={pdfUrl} title="Report PDF" />}
      {task.attempts.length > 0 && (
        <Section title="Attempts">
          <table>
            <thead><tr><th>#</th><th>Status</th><th>Started</th><th>Finished</th><th>Error</th></tr></thead>
            <tbody>
              {task.attempts.map((a) => (
                <tr key={a.number}><td>{a.number}</td><td><Badge status={a.status} /></td><td>{when(a.started_at)}</td><td>{when(a.finished_at)}</td><td>{a.error ? `${a.error.ename}: ${a.error.evalue}` : ""}</td></tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}
