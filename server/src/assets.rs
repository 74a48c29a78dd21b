//! The site (JS, WASM, CSS, images): embedded in the release binary by `build.rs`, or read from a
//! folder (`HOOKLINE_SITE_ROOT`) during development.
//!
//! Embedded files are served with their precompressed variant when the client accepts it (brotli,
//! then gzip), an ETag, and `Cache-Control: immutable` under their hashed name, which the pages
//! link to; under the plain name they are revalidated (`no-cache`) so an old link never gets a
//! stale bundle.
//!
//! A file with a gzip variant is embedded without its plain bytes: every browser accepts gzip, so
//! the plain form (3.7 MB of the binary for the WASM alone) is only for clients such as `curl`
//! without `Accept-Encoding`; they get it unpacked from the gzip variant once and kept in memory.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// One file of the embedded site (see `build.rs`).
#[derive(Debug)]
pub struct EmbeddedFile {
    /// URL path, e.g. `/pkg/hookline.wasm`.
    pub path: &'static str,
    /// The same file under a name that holds its hash (bundles under `/pkg/` only).
    pub hashed_path: Option<&'static str>,
    pub content_type: &'static str,
    /// A quoted hash of the bytes.
    pub etag: &'static str,
    /// The plain bytes, when they are embedded (only files without a gzip variant).
    pub body: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
    pub brotli: Option<&'static [u8]>,
    /// The plain bytes unpacked from `gzip`, the first time a client asks for them.
    pub unpacked: OnceLock<Vec<u8>>,
}

impl EmbeddedFile {
    /// The plain bytes: embedded, or unpacked from the gzip variant (once).
    fn plain(&self) -> &[u8] {
        if let Some(body) = self.body {
            return body;
        }
        self.unpacked.get_or_init(|| {
            let mut plain = Vec::new();
            let gzip = self.gzip.unwrap_or_default();
            if let Err(error) = flate2::read::GzDecoder::new(gzip).read_to_end(&mut plain) {
                // build.rs wrote the variant from the same build's file; this cannot happen short
                // of a corrupted binary, and an empty body is then better than a crash.
                tracing::error!(path = self.path, %error, "the embedded gzip variant does not unpack");
                plain.clear();
            }
            plain
        })
    }
}

/// The files the `hookline` binary carries (its build.rs embeds them; `main` hands them over
/// before anything else runs). The library itself never depends on the site, so it and its tests
/// build without one.
static EMBEDDED: OnceLock<&'static [EmbeddedFile]> = OnceLock::new();

/// Makes `files` the embedded site. Called once, by `main`; later calls are ignored.
pub fn embed(files: &'static [EmbeddedFile]) {
    let _ = EMBEDDED.set(files);
}

/// Where this process takes the site from.
#[derive(Debug, Clone)]
pub enum Site {
    /// Compiled into the binary: the binary alone is the whole deployment.
    Embedded(&'static [EmbeddedFile]),
    /// A folder on disk (development, or an operator overriding the built-in site).
    Disk(PathBuf),
}

/// The folder a binary built without the site falls back to: where `scripts/build.sh` writes it.
pub const DEV_SITE_ROOT: &str = "target/site";

impl Site {
    /// `HOOKLINE_SITE_ROOT` when set, else the embedded site, else `target/site` (a development
    /// build run from the repository).
    pub fn choose(site_root: Option<&Path>) -> Site {
        match site_root {
            Some(dir) => Site::Disk(dir.to_path_buf()),
            None => match EMBEDDED.get() {
                Some(files) if !files.is_empty() => Site::Embedded(files),
                _ => Site::Disk(PathBuf::from(DEV_SITE_ROOT)),
            },
        }
    }

    /// The URLs pages link to: the hashed names of the embedded bundles, else the plain names.
    pub fn urls(&self) -> app::SiteUrls {
        let mut urls = app::SiteUrls::default();
        if let Site::Embedded(files) = self {
            for file in *files {
                let Some(hashed) = file.hashed_path else { continue };
                match file.path {
                    "/pkg/hookline.js" => urls.js = hashed.into(),
                    "/pkg/hookline.wasm" => urls.wasm = hashed.into(),
                    "/pkg/hookline.css" => urls.css = hashed.into(),
                    _ => {}
                }
            }
        }
        urls
    }

    /// Serves `request` if it names a file of the site; otherwise hands it back.
    pub async fn serve(&self, request: Request<Body>) -> Result<Response, Request<Body>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return Err(request);
        }
        match self {
            Site::Embedded(files) => {
                let path = request.uri().path();
                let found = files.iter().find_map(|f| {
                    if f.path == path {
                        Some((f, false))
                    } else if f.hashed_path == Some(path) {
                        Some((f, true))
                    } else {
                        None
                    }
                });
                match found {
                    Some((file, immutable)) => Ok(serve_embedded(file, immutable, request.headers())),
                    None => Err(request),
                }
            }
            Site::Disk(dir) => {
                let mut probe = Request::new(Body::empty());
                *probe.method_mut() = request.method().clone();
                *probe.uri_mut() = request.uri().clone();
                *probe.headers_mut() = request.headers().clone();
                let response = ServeDir::new(dir).precompressed_br().precompressed_gzip().oneshot(probe).await;
                match response {
                    Ok(response) if response.status() != StatusCode::NOT_FOUND => Ok(response.into_response()),
                    _ => Err(request),
                }
            }
        }
    }
}

fn serve_embedded(file: &'static EmbeddedFile, immutable: bool, headers: &HeaderMap) -> Response {
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = Response::builder()
        .header(header::CONTENT_TYPE, file.content_type)
        .header(header::ETAG, file.etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::VARY, "accept-encoding");
    let matches_etag = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == file.etag || tag.trim() == "*"));
    if matches_etag {
        return response.status(StatusCode::NOT_MODIFIED).body(Body::empty()).expect("valid response");
    }
    let accepts = |coding: &str| accepts_encoding(headers, coding);
    let (body, encoding) = match (file.brotli, file.gzip) {
        (Some(br), _) if accepts("br") => (br, Some("br")),
        (_, Some(gz)) if accepts("gzip") => (gz, Some("gzip")),
        _ => (file.plain(), None),
    };
    if let Some(encoding) = encoding {
        response = response.header(header::CONTENT_ENCODING, encoding);
    }
    response.header(header::CONTENT_LENGTH, body.len()).body(Body::from(body)).expect("valid response")
}

/// Whether `Accept-Encoding` allows `coding` (listed, or `*`, with a non-zero quality).
fn accepts_encoding(headers: &HeaderMap, coding: &str) -> bool {
    let mut allowed = false;
    for value in headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            let zero = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
            });
            if name.eq_ignore_ascii_case(coding) {
                return !zero;
            }
            if name == "*" {
                allowed = !zero;
            }
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    static FILE: EmbeddedFile = EmbeddedFile {
        path: "/pkg/hookline.js",
        hashed_path: Some("/pkg/hookline.0123456789ab.js"),
        content_type: "text/javascript; charset=utf-8",
        etag: "\"0123456789abcdef\"",
        body: Some(b"plain"),
        gzip: Some(b"gz"),
        brotli: Some(b"br"),
        unpacked: OnceLock::new(),
    };
    static FILES: [EmbeddedFile; 0] = [];

    fn get(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder = Request::builder().uri(path);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec()
    }

    #[tokio::test]
    async fn picks_the_variant_the_client_accepts() {
        let site = Site::Embedded(std::slice::from_ref(&FILE));
        let cases: [(&str, &[u8], Option<&str>); 5] = [
            ("gzip, deflate, br", b"br", Some("br")),
            ("gzip", b"gz", Some("gzip")),
            ("br;q=0, gzip", b"gz", Some("gzip")),
            ("identity", b"plain", None),
            ("*", b"br", Some("br")),
        ];
        for (accept, want, encoding) in cases {
            let response = site.serve(get("/pkg/hookline.js", &[("accept-encoding", accept)])).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{accept}");
            assert_eq!(
                response.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap()),
                encoding,
                "{accept}"
            );
            assert_eq!(body(response).await, want, "{accept}");
        }
        let response = site.serve(get("/pkg/hookline.js", &[])).await.unwrap();
        assert_eq!(body(response).await, b"plain");
    }

    #[tokio::test]
    async fn without_plain_bytes_a_client_without_gzip_gets_them_unpacked() {
        use std::io::Write as _;
        let plain: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&plain).unwrap();
        let gzip: &'static [u8] = Box::leak(encoder.finish().unwrap().into_boxed_slice());
        let file: &'static EmbeddedFile = Box::leak(Box::new(EmbeddedFile {
            path: "/pkg/hookline.wasm",
            hashed_path: None,
            content_type: "application/wasm",
            etag: "\"1\"",
            body: None,
            gzip: Some(gzip),
            brotli: None,
            unpacked: OnceLock::new(),
        }));
        let site = Site::Embedded(std::slice::from_ref(file));
        for _ in 0..2 {
            let response = site.serve(get("/pkg/hookline.wasm", &[])).await.unwrap();
            assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
            assert_eq!(response.headers()[header::CONTENT_LENGTH], plain.len().to_string().as_str());
            assert_eq!(body(response).await, plain);
        }
        let zipped = site.serve(get("/pkg/hookline.wasm", &[("accept-encoding", "gzip, br")])).await.unwrap();
        assert_eq!(zipped.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(body(zipped).await, gzip);
    }

    #[tokio::test]
    async fn hashed_names_are_immutable_and_plain_names_revalidate() {
        let site = Site::Embedded(std::slice::from_ref(&FILE));
        let hashed = site.serve(get("/pkg/hookline.0123456789ab.js", &[])).await.unwrap();
        assert_eq!(hashed.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        let plain = site.serve(get("/pkg/hookline.js", &[])).await.unwrap();
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(plain.headers()[header::ETAG], "\"0123456789abcdef\"");
        assert_eq!(plain.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        let revalidated =
            site.serve(get("/pkg/hookline.js", &[("if-none-match", "\"0123456789abcdef\"")])).await.unwrap();
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert!(body(revalidated).await.is_empty());
    }

    #[tokio::test]
    async fn other_paths_and_methods_are_handed_back() {
        let site = Site::Embedded(std::slice::from_ref(&FILE));
        assert!(site.serve(get("/webhooks", &[])).await.is_err());
        assert!(site.serve(get("/pkg/hookline.0000.js", &[])).await.is_err());
        let post = Request::builder().method(Method::POST).uri("/pkg/hookline.js").body(Body::empty()).unwrap();
        assert!(site.serve(post).await.is_err());
        let empty = Site::Embedded(&FILES);
        assert!(empty.serve(get("/pkg/hookline.js", &[])).await.is_err());
    }

    #[tokio::test]
    async fn a_folder_serves_its_files_and_nothing_outside_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/hookline.css"), "body{}").unwrap();
        let site = Site::Disk(dir.path().to_path_buf());
        let response = site.serve(get("/pkg/hookline.css", &[])).await.unwrap();
        assert_eq!(body(response).await, b"body{}");
        assert!(site.serve(get("/../outside.txt", &[])).await.is_err());
        assert!(site.serve(get("/missing.js", &[])).await.is_err());
        assert_eq!(site.urls(), app::SiteUrls::default());
    }
}
