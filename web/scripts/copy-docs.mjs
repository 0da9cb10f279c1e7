// Copies Swagger UI and ReDoc from node_modules into dist/docs-assets/: the API serves /docs
// and /redoc from there, so they work without the internet (no CDN).
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(web, "dist/docs-assets");
mkdirSync(out, { recursive: true });
for (const file of [
  "swagger-ui-dist/swagger-ui-bundle.js",
  "swagger-ui-dist/swagger-ui.css",
  "redoc/bundles/redoc.standalone.js",
]) {
  copyFileSync(resolve(web, "node_modules", file), resolve(out, file.split("/").pop()));
}
console.log("dist/docs-assets: Swagger UI and ReDoc copied");

// ReDoc's side menu shows Redocly's logo from their CDN: point it at our own icon instead.
const redoc = resolve(out, "redoc.standalone.js");
const patched = readFileSync(redoc, "utf8").replaceAll("https://cdn.redoc.ly/redoc/logo-mini.svg", "/favicon.svg");
if (patched.includes("cdn.redoc.ly")) throw new Error("redoc.standalone.js still refers to cdn.redoc.ly");
writeFileSync(redoc, patched);

// Precompressed copies: the API sends file.gz to a browser that accepts gzip.
for (const folder of ["assets", "docs-assets"]) {
  for (const name of readdirSync(resolve(web, "dist", folder))) {
    if (!/\.(js|css|svg)$/.test(name)) continue;
    const file = resolve(web, "dist", folder, name);
    writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
  }
}
