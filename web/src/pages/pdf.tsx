// Markdown to PDF (POST /v1/pdf) with a live preview of the Markdown.
import { marked } from "marked";
import { useMemo, useState } from "preact/hooks";
import { BASE_URL, describeError, getToken } from "../api/client";
import { ErrorBox } from "../ui";

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => `&${({ "&": "amp", "<": "lt", ">": "gt", '"': "quot" })[c]};`);

export function MarkdownPdf() {
  const [title, setTitle] = useState("Quarterly summary");
  const [markdown, setMarkdown] = useState("# Highlights\n\n- Sales **up** 12%\n\n| Region | Share |\n| --- | --- |\n| North | 41% |\n");
  const [error, setError] = useState("");
  const [pdfUrl, setPdfUrl] = useState("");
  // Raw HTML is shown as text, as the server does.
  const preview = useMemo(() => marked.parse(markdown, { async: false, renderer: Object.assign(new marked.Renderer(), { html: ({ text }: { text: string }) => escapeHtml(text) }) }) as string, [markdown]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const response = await fetch(`${BASE_URL}/v1/pdf`, {
      method: "POST",
      headers: { Authorization: `Bearer ${getToken()}`, "Content-Type": "application/json" },
      body: JSON.stringify({ title, markdown }),
    });
    if (!response.ok) {
      const d = describeError(await response.json().catch(() => ({})));
      return setError(Object.entries(d.fields).map(([k, v]) => `${k}: ${v}`).join("; ") || d.message);
    }
    setError("");
    if (pdfUrl) URL.revokeObjectURL(pdfUrl);
    setPdfUrl(URL.createObjectURL(await response.blob()));
  };
  return (
    <>
      <h1>Markdown to PDF</h1>
      <form onSubmit={submit} class="split">
        <div>
          <label for="md-title">Title</label>
          <input id="md-title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          <label for="md-text">Markdown</label>
          <textarea id="md-text" rows={16} value={markdown} onInput={(e) => setMarkdown(e.currentTarget.value)} />
          <button type="submit">Make PDF</button>
          <ErrorBox message={error} />
        </div>
        <div class="preview" aria-label="preview" dangerouslySetInnerHTML={{ __html: preview }} />
      </form>
      {pdfUrl && <p><a href={pdfUrl} download={`${title}.pdf`}>Download PDF</a><iframe class="pdf" src={pdfUrl} title="PDF" /></p>}
    </>
  );
}
