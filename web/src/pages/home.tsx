// Folders and the products in them that you can see; admins create folders and products.
import { useState } from "preact/hooks";
import { api, describeError } from "../api/client";
import { Link } from "../router";
import { isAdmin } from "../session";
import { ErrorBox, Section, must, useLoad } from "../ui";

export function Home() {
  const [data, error, reload] = useLoad(async () => {
    const [folders, products] = await Promise.all([api.GET("/v1/folders"), api.GET("/v1/products")]);
    return { folders: must(folders), products: must(products) };
  }, []);
  return (
    <>
      <h1>Folders and products</h1>
      <ErrorBox message={error} />
      {data && data.folders.length === 0 && <p>Nothing is shared with you yet.</p>}
      {data?.folders.map((folder) => (
        <Section title={folder.name} key={folder.id}>
          <ul class="list" data-folder={folder.name}>
            {data.products.filter((p) => p.folder_id === folder.id).map((p) => (
              <li key={p.id}><Link href={`/products/${p.id}`}>{p.name}</Link> <small>{p.slug}</small></li>
            ))}
          </ul>
        </Section>
      ))}
      {isAdmin() && data && <AdminCreate folders={data.folders} onDone={reload} />}
    </>
  );
}

function AdminCreate(props: { folders: { id: string; name: string }[]; onDone: () => void }) {
  const [folderName, setFolderName] = useState("");
  const [productName, setProductName] = useState("");
  const [folderId, setFolderId] = useState("");
  const [message, setMessage] = useState("");
  const createFolder = async (e: Event) => {
    e.preventDefault();
    const result = await api.POST("/v1/folders", { body: { name: folderName } });
    setMessage(result.data ? `Folder “${result.data.name}” created.` : describeError(result.error).message);
    if (result.data) (setFolderName(""), props.onDone());
  };
  const createProduct = async (e: Event) => {
    e.preventDefault();
    const folder = folderId || props.folders[0]?.id || "";
    const result = await api.POST("/v1/products", { body: { name: productName, folder_id: folder } });
    const err = describeError(result.error);
    setMessage(result.data ? `Product “${result.data.name}” created.` : Object.values(err.fields).join("; ") || err.message);
    if (result.data) (setProductName(""), props.onDone());
  };
  return (
    <Section title="Create">
      <form onSubmit={createFolder} class="row">
        <label>New folder <input value={folderName} onInput={(e) => setFolderName(e.currentTarget.value)} required /></label>
        <button type="submit">Create folder</button>
      </form>
      <form onSubmit={createProduct} class="row">
        <label>New product <input value={productName} onInput={(e) => setProductName(e.currentTarget.value)} required /></label>
        <label>in folder
          <select value={folderId} onChange={(e) => setFolderId(e.currentTarget.value)}>
            {props.folders.map((f) => <option value={f.id} key={f.id}>{f.name}</option>)}
          </select>
        </label>
        <button type="submit">Create product</button>
      </form>
      <p role="status">{message}</p>
    </Section>
  );
}
